"""The flyer plugin over real HTTP: `jobhost api` and `jobhost worker` processes, the shared Redis,
SQLite, real tesseract. Upload → 202 → progress → completed with deals; every refused upload;
permanent and retryable failures; idempotency; owner-only reading; the deprecated endpoints."""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest

from jobhost_flyer_ocr.demo import SAMPLE_FLYER
from tests.plugins.flyer_ocr import flyergen
from tests.plugins.flyer_ocr.flyerstack import install_recorder, make_stack

pytestmark = pytest.mark.slow

SAMPLE = SAMPLE_FLYER.read_bytes()
LIMIT_MB = 2


@pytest.fixture(scope="module")
def stack(tmp_path_factory, grid_flyer):
    """One API and one worker for the module, the event recorder plugin installed beside."""
    root = tmp_path_factory.mktemp("flyer-http")
    site = install_recorder(root)
    stack = make_stack(
        root,
        JOBHOST_LOAD_PLUGINS="flyer_ocr,recorder",
        PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
        RECORDED_EVENTS=str(root / "events.jsonl"),
        FLYER_MAX_UPLOAD_MB=str(LIMIT_MB),
        FLYER_MAX_PAGES="3",
    )
    try:
        stack.start_worker()
        stack.ann = stack.user("ann@example.org")
        stack.bob = stack.user("bob@example.org")
        stack.root_admin = stack.user("root@example.org", admin=True)
        yield stack
    finally:
        stack.close()


@pytest.fixture(scope="module")
def processed(stack):
    """Ann's upload of the sample flyer, followed to its end: (202 answer, statuses seen)."""
    answer = stack.upload(stack.ann, SAMPLE, "sample flyer.png", store="Sunrise Foods Downtown")
    seen = stack.wait(answer.json()["jobId"], stack.ann)
    return answer, seen


def test_upload_answers_202_with_job_and_flyer_and_a_location(processed):
    answer, _ = processed
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert set(body) == {"jobId", "flyerId"}
    assert answer.headers["location"] == f"/api/ai/jobs/{body['jobId']}/status"


def test_the_job_reports_progress_by_stage_and_completes_with_the_deals(processed, grid_flyer):
    _, seen = processed
    final = seen[-1]
    assert final["state"] == "completed", final
    assert final["error"] is None and final["attempt"] == 1
    percents = [s["progress"]["percent"] for s in seen if s["progress"]]
    assert percents == sorted(percents) and percents[-1] == 100
    stages = {s["progress"]["stage"] for s in seen if s["progress"]}
    assert "done" in stages and len(stages) >= 2
    result = final["result"]
    assert result["flyer_id"] == processed[0].json()["flyerId"]
    assert (result["store"], result["pages"]) == ("Sunrise Foods Downtown", 1)
    assert (result["valid_from"], result["valid_to"]) == (
        grid_flyer.valid_from.isoformat(),
        grid_flyer.valid_to.isoformat(),
    )
    found = {(i["name"], Decimal(i["price"]), i["quantity"], i["unit"]) for i in result["items"]}
    assert found == {(t.name, t.price, t.quantity, t.unit) for t in grid_flyer.items}
    assert result["needs_review"] == 0
    item = result["items"][0]
    assert set(item) >= {"name", "price", "quantity", "unit", "unit_price", "page", "confidence", "box"}
    assert set(item) >= {"regular_price", "description", "limit", "needs_review"}
    assert isinstance(item["price"], str) and set(item["box"]) == {"left", "top", "width", "height"}


def strawberries_at_997_dollars() -> bytes:
    """A card of one deal whose price no strawberries have."""
    draw = flyergen.Canvas((900, 500))
    draw.text((60, 60), "Fresh Strawberries", flyergen._font("dejavu-sans", False, 40), (10, 10, 10))
    draw.text((60, 130), "1 lb", flyergen._font("dejavu-sans", False, 28), (70, 70, 70))
    draw.text((60, 190), "$997.00", flyergen._font("dejavu-sans", True, 64), (170, 0, 0))
    return flyergen.encode([draw.image], "png")


def test_an_implausible_deal_is_flagged_and_counted_in_the_result_and_the_record(stack):
    answer = stack.upload(stack.ann, strawberries_at_997_dollars(), "strawberries.png")
    final = stack.wait(answer.json()["jobId"], stack.ann)[-1]
    assert final["state"] == "completed", final
    (item,) = final["result"]["items"]
    assert (item["name"], item["price"], item["needs_review"]) == ("Fresh Strawberries", "997.00", True)
    assert final["result"]["needs_review"] == 1
    flyer = stack.client.get(f"/api/flyers/{answer.json()['flyerId']}", headers=stack.ann).json()
    assert flyer["needs_review"] == 1 and flyer["items"][0]["needs_review"] is True


def test_the_hosts_event_stream_follows_the_job(stack, processed):
    job_id = processed[0].json()["jobId"]
    with stack.client.stream("GET", f"/api/jobs/{job_id}/events", headers=stack.ann) as answer:
        assert answer.status_code == 200
        data = [json.loads(line[5:]) for line in answer.iter_lines() if line.startswith("data:")]
    assert [e["state"] for e in data if e["type"] == "state"][-1] == "completed"
    # The worker writes the latest progress at its own pace, so a fast stage may be skipped.
    stages = [e["progress"]["stage"] for e in data if e["type"] == "progress"]
    assert stages[-1] == "done" and len(set(stages)) >= 2


def test_the_flyer_and_its_deals_are_stored(stack, processed, grid_flyer):
    flyer_id = processed[0].json()["flyerId"]
    flyer = stack.client.get(f"/api/flyers/{flyer_id}", headers=stack.ann).json()
    assert (flyer["status"], flyer["filename"], flyer["media_type"]) == (
        "processed",
        "sample flyer.png",
        "image/png",
    )
    assert flyergen.pairs(
        type("Deal", (), {"name": i["name"], "price": Decimal(i["price"])}) for i in flyer["items"]
    ) == flyergen.pairs(grid_flyer.items)
    # Stored under a name of ours; the client's name is only metadata.
    assert "sample flyer.png" not in stack.stored_files()
    listing = stack.client.get("/api/flyers", headers=stack.ann).json()
    assert flyer_id in [f["id"] for f in listing["flyers"]]
    assert listing["flyers"][0]["items"]


def heard(stack, flyer_id):
    """The `flyer.processed` events of the flyer the recorder plugin has written down so far."""
    recorded = stack.root / "events.jsonl"
    events = [json.loads(line) for line in recorded.read_text().splitlines()] if recorded.exists() else []
    return [e for e in events if e["name"] == "flyer.processed" and e["data"]["flyer_id"] == flyer_id]


def test_other_plugins_hear_of_the_processed_flyer(stack, processed):
    flyer_id = processed[0].json()["flyerId"]
    deadline = time.monotonic() + 30  # delivered as a job of the recorder's events queue
    while not heard(stack, flyer_id):
        assert time.monotonic() < deadline, "the recorder never heard of the flyer"
        time.sleep(0.1)
    [event] = heard(stack, flyer_id)
    assert event["source"] == "flyer_ocr"
    assert event["data"]["store"] == "Sunrise Foods Downtown"
    assert event["data"]["owner"]
    assert set(event["data"]["items"][0]) == {
        "name",
        "price",
        "quantity",
        "unit",
        "unit_price",
        "page",
        "regular_price",
        "save",
        "percent_off",
        "bogo",
    }


def test_only_the_owner_or_an_admin_reads_a_job_or_a_flyer(stack, processed):
    body = processed[0].json()
    status, flyer = f"/api/ai/jobs/{body['jobId']}/status", f"/api/flyers/{body['flyerId']}"
    for path in (status, flyer):
        assert stack.client.get(path, headers=stack.ann).status_code == 200
        assert stack.client.get(path, headers=stack.root_admin).status_code == 200
        other = stack.client.get(path, headers=stack.bob)
        assert other.status_code == 404 and other.json()["detail"]
        assert stack.client.get(path).status_code == 401
    missing = stack.client.get("/api/ai/jobs/flyer-processing:0000000000000000/status", headers=stack.bob)
    assert missing.status_code == 404
    assert stack.client.get("/api/flyers", headers=stack.bob).json()["total"] == 0


def test_flyers_are_listed_a_page_at_a_time(stack, processed):
    first = stack.client.get("/api/flyers", params={"per_page": 1}, headers=stack.ann).json()
    assert (first["page"], first["per_page"], len(first["flyers"])) == (1, 1, 1)
    assert first["total"] >= 1
    bad = stack.client.get("/api/flyers", params={"per_page": 1000}, headers=stack.ann)
    assert bad.status_code == 400 and "per_page" in bad.text


def _refused(stack, headers, content, filename="flyer.png", **fields):
    before = stack.stored_files()
    count = stack.client.get("/api/flyers", headers=headers).json()["total"]
    answer = stack.upload(headers, content, filename, **fields)
    assert stack.stored_files() == before, "a refused upload left a file behind"
    assert stack.client.get("/api/flyers", headers=headers).json()["total"] == count
    return answer


@pytest.mark.parametrize(
    "make, filename, status, detail",
    [
        (lambda: b"", "flyer.png", 400, "the file is empty"),
        (lambda: os.urandom(LIMIT_MB * 1024**2 + 1), "big.png", 413, f"at most {LIMIT_MB} MiB"),
        (lambda: b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "flyer.gif", 415, "not an allowed type"),
        (lambda: b"<html>not a flyer</html>", "flyer.png", 415, "PNG, JPEG, WebP, TIFF or PDF"),
        (lambda: flyergen.bomb_png(60_000, 60_000), "flyer.png", 422, "decompression bomb"),
        (lambda: flyergen.bomb_png(9000, 6000), "flyer.png", 422, "page 1 is 9000×6000 pixels"),
        (lambda: flyergen.encode([flyergen.make_flyer(1).pages[0]] * 4, "pdf"), "f.pdf", 422, "4 pages"),
        (lambda: SAMPLE, "../../etc/flyer.png", 400, "'..'"),
        (lambda: SAMPLE, "/etc/flyer.png", 400, "absolute path"),
        (lambda: SAMPLE, "fly\x00er.png", 400, "control characters"),
        (lambda: SAMPLE, "fly\x1ber.png", 400, "control characters"),
    ],
)
def test_bad_uploads_are_refused_with_a_clear_detail_and_store_nothing(stack, make, filename, status, detail):
    answer = _refused(stack, stack.ann, make(), filename)
    assert answer.status_code == status, answer.text
    assert detail in answer.json()["detail"]


def test_a_windows_path_is_cut_to_its_file_name_before_anyone_sees_it(stack):
    """The form parser drops an old browser's `C:\\...\\` path itself; the name stays metadata."""
    answer = stack.upload(stack.ann, SAMPLE, "C:\\flyers\\weekly.png")
    assert answer.status_code == 202, answer.text
    flyer = stack.client.get(f"/api/flyers/{answer.json()['flyerId']}", headers=stack.ann).json()
    assert flyer["filename"] == "weekly.png"
    stack.wait(answer.json()["jobId"], stack.ann)


def test_a_form_without_a_file_is_400(stack):
    answer = _refused(stack, stack.ann, b"", None, store="FreshMart")
    assert answer.status_code == 400
    assert "multipart/form-data field `file`" in answer.json()["detail"]


def test_an_upload_needs_a_user(stack):
    assert stack.upload({}, SAMPLE).status_code == 401


def test_the_same_idempotency_key_gives_the_first_answer(stack):
    key = {"Idempotency-Key": "upload-7f3a9c"}
    before = stack.client.get("/api/flyers", headers=stack.bob).json()["total"]
    first = stack.upload({**stack.bob, **key}, SAMPLE)
    again = stack.upload({**stack.bob, **key}, SAMPLE)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert stack.client.get("/api/flyers", headers=stack.bob).json()["total"] == before + 1
    other_file = stack.upload({**stack.bob, **key}, flyergen.encode([flyergen.make_flyer(2).pages[0]], "png"))
    assert other_file.status_code == 422 and "different file" in other_file.json()["detail"]
    # Keys belong to their user: Ann's same key is a new upload of hers.
    anns = stack.upload({**stack.ann, **key}, SAMPLE)
    assert anns.status_code == 202 and anns.json()["jobId"] != first.json()["jobId"]
    bad_key = stack.upload({**stack.bob, "Idempotency-Key": "x" * 300}, SAMPLE)
    assert bad_key.status_code == 400
    stack.wait(first.json()["jobId"], stack.bob)
    stack.wait(anns.json()["jobId"], stack.ann)


def test_racing_requests_with_one_idempotency_key_make_one_flyer(stack):
    key = {"Idempotency-Key": "race-1"}
    before = stack.client.get("/api/flyers", headers=stack.bob).json()["total"]
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: stack.upload({**stack.bob, **key}, SAMPLE), range(4)))
    accepted = [a.json() for a in answers if a.status_code == 202]
    assert accepted and all(body == accepted[0] for body in accepted)
    assert all(a.status_code in (202, 409) for a in answers), [a.text for a in answers]
    assert stack.client.get("/api/flyers", headers=stack.bob).json()["total"] == before + 1
    stack.wait(accepted[0]["jobId"], stack.bob)


def test_a_two_page_pdf_is_read_page_by_page(stack, two_page_flyer):
    answer = stack.upload(stack.ann, flyergen.encode(two_page_flyer.pages, "pdf"), "weekly.pdf")
    assert answer.status_code == 202, answer.text
    final = stack.wait(answer.json()["jobId"], stack.ann)[-1]
    assert final["state"] == "completed"
    assert final["result"]["pages"] == 2
    assert {(i["name"], i["page"]) for i in final["result"]["items"]} == {
        (t.name, t.page) for t in two_page_flyer.items
    }


def test_a_corrupt_file_fails_its_job_for_good_without_retries(stack, grid_flyer):
    data = flyergen.encode(grid_flyer.pages, "png")
    answer = stack.upload(stack.ann, data[: len(data) // 2], "torn.png")  # the header is whole
    assert answer.status_code == 202
    final = stack.wait(answer.json()["jobId"], stack.ann)[-1]
    assert (final["state"], final["attempt"]) == ("dead", 1)
    assert "cannot be decoded" in final["error"] and "corrupt" in final["error"]
    flyer = stack.client.get(f"/api/flyers/{answer.json()['flyerId']}", headers=stack.ann).json()
    assert flyer["status"] == "failed" and "cannot be decoded" in flyer["error"]


@pytest.mark.parametrize("path", ["/api/ai/upload-legacy", "/api/ai/flyers/process"])
def test_deprecated_endpoints_answer_the_deals_inside_the_request(stack, grid_flyer, path):
    from tests.plugins.flyer_ocr.flyerstack import multipart

    body, form = multipart("sample.png", SAMPLE)
    answer = stack.client.post(path, content=body, headers={**stack.bob, **form})
    assert answer.status_code == 200, answer.text
    assert answer.headers["deprecation"] == "@1765497600"
    assert answer.headers["link"] == '</api/ai/upload-and-process>; rel="successor-version"'
    result = answer.json()
    assert {(i["name"], Decimal(i["price"])) for i in result["items"]} == flyergen.pairs(grid_flyer.items)
    flyer = stack.client.get(f"/api/flyers/{result['flyer_id']}", headers=stack.bob).json()
    assert flyer["status"] == "processed" and flyer["job_id"] is None

    before = stack.stored_files()
    empty, form = multipart("empty.png", b"")
    refused = stack.client.post(path, content=empty, headers={**stack.bob, **form})
    assert refused.status_code == 400 and "empty" in refused.json()["detail"]
    assert refused.headers["deprecation"] == "@1765497600"  # errors say it too
    assert stack.stored_files() == before


def test_openapi_marks_the_synchronous_endpoints_deprecated(stack):
    paths = stack.client.get("/schema/openapi.json").json()["paths"]
    assert paths["/api/ai/upload-legacy"]["post"]["deprecated"] is True
    assert paths["/api/ai/flyers/process"]["post"]["deprecated"] is True
    assert not paths["/api/ai/upload-and-process"]["post"].get("deprecated")
    assert "multipart/form-data" in paths["/api/ai/upload-and-process"]["post"]["requestBody"]["content"]


def test_missing_tesseract_is_retried_and_then_succeeds(tmp_path: Path, grid_flyer):
    stack = make_stack(tmp_path)
    try:
        # A worker whose PATH has python but no tesseract.
        blind = stack.start_worker(PATH=str(Path(sys.executable).parent))
        ann = stack.user("ann@example.org")
        job_id = stack.upload(ann, SAMPLE).json()["jobId"]
        retrying = stack.wait(job_id, ann, until=lambda s: s["error"] is not None)[-1]
        assert (retrying["state"], retrying["attempt"]) == ("delayed", 1)
        assert "tesseract is not installed" in retrying["error"]
        stack.stop(blind)
        stack.start_worker()
        final = stack.wait(job_id, ann, timeout=120)[-1]
        assert (final["state"], final["attempt"]) == ("completed", 2)
        assert len(final["result"]["items"]) == len(grid_flyer.items)
    finally:
        stack.close()
