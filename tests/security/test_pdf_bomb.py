"""A PDF render bomb (issue 10, finding 1): a few KB of nested Form XObjects that draw a billion
rectangles. PDFium reads it only in a child process with memory, CPU and wall-clock limits, so
the bomb's job fails for good with the reason, its flyer is marked failed, the worker's own memory
stays small, and other users' uploads and status requests are answered meanwhile, on both the
queued and the deprecated synchronous route (which once held a process-wide PDFium lock)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from jobhost import PermanentError
from jobhost_flyer_ocr.errors import FlyerRejected
from jobhost_flyer_ocr.load import load_pages
from jobhost_flyer_ocr.validate import Limits, check_upload
from tests.plugins.flyer_ocr import flyergen
from tests.plugins.flyer_ocr.flyerstack import make_stack, multipart

pytestmark = pytest.mark.slow

MEMORY_MB = 256
SECONDS = 4
# A bomb's job must be over within its page's wall-clock limit (3x the CPU budget plus a start-up
# second) plus the time to start and record the job: the bound, with room for a loaded machine.
BOMB_BOUND = 3 * SECONDS + 1 + 20
LIMITS = Limits(render_memory=MEMORY_MB * 1024**2, render_seconds=SECONDS)


def bomb_pdf(levels: int = 10, copies: int = 10) -> bytes:
    """X0 fills a rectangle, Xk draws X(k-1) `copies` times, the page draws X(levels-1)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /XObject << /X %d 0 R >> >> >>" % (4 + levels),
        b"<< /Length 5 >>\nstream\n/X Do\nendstream",
    ]
    for level in range(levels):  # X0 is object 5
        body = b"0 0 9 9 re f" if level == 0 else b" ".join([b"/X Do"] * copies)
        resources = b"" if level == 0 else b" /Resources << /XObject << /X %d 0 R >> >>" % (4 + level)
        objects.append(
            b"<< /Subtype /Form /BBox [0 0 612 792]%s /Length %d >>\nstream\n%s\nendstream"
            % (resources, len(body), body)
        )
    return flyergen.pdf_file(objects)


BOMB = bomb_pdf()


def test_the_bomb_is_small_and_passes_the_structure_check():
    assert len(BOMB) < 2500
    assert check_upload(BOMB, "bomb.pdf", LIMITS).pages == 1  # only its structure is read


def test_the_bomb_with_fewer_levels_is_a_real_drawing():
    """The same file three levels deep renders: the limits stop the bomb, not the construction."""
    (page,) = load_pages(bomb_pdf(levels=3), LIMITS)
    assert page.image is not None and page.image.getextrema()[0] == 0  # ink


def test_rendering_the_bomb_fails_permanently_naming_the_limits():
    started = time.monotonic()
    with pytest.raises(FlyerRejected) as caught:
        list(load_pages(BOMB, LIMITS))
    assert time.monotonic() - started < 3 * SECONDS + 1 + 5
    assert isinstance(caught.value, PermanentError)
    message = str(caught.value)
    assert "page 1 of the PDF could not be rendered within the renderer's limits" in message
    assert f"{MEMORY_MB} MiB of memory, {SECONDS} s of CPU per page" in message


def test_the_renderer_stays_under_its_memory_limit(tmp_path: Path):
    """Its peak resident memory, as the kernel accounts the reaped child, is under the limit."""
    bomb = tmp_path / "bomb.pdf"
    bomb.write_bytes(BOMB)
    script = textwrap.dedent(
        f"""
        import resource
        from pathlib import Path
        from jobhost_flyer_ocr.errors import FlyerRejected
        from jobhost_flyer_ocr.load import load_pages
        from jobhost_flyer_ocr.validate import Limits
        try:
            list(load_pages(Path({str(bomb)!r}).read_bytes(), Limits(render_memory={MEMORY_MB} * 2**20)))
        except FlyerRejected:
            print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    peak_kib = int(done.stdout)
    assert 0 < peak_kib < MEMORY_MB * 1024


# The stack's renderer may take 1 GiB: the bomb then runs for seconds before a limit ends it,
# long enough to see that other users are served in the meantime.
STACK_MEMORY_MB = 1024


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    root = tmp_path_factory.mktemp("pdf-bomb")
    stack = make_stack(root, FLYER_RENDER_MEMORY_MB=str(STACK_MEMORY_MB), FLYER_RENDER_SECONDS=str(SECONDS))
    try:
        stack.worker = stack.start_worker()
        stack.ann = stack.user("ann@example.org")
        stack.bob = stack.user("bob@example.org")
        yield stack
    finally:
        stack.close()


def peak_memory_mib(pid: int) -> float:
    """A live process's peak resident memory (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for pid {pid}")


NORMAL_PDF = flyergen.encode(flyergen.make_flyer(5, layout="grid", pages=2).pages, "pdf")


def bob_uploads_and_reads_his_status(stack) -> float:
    """Bob's normal two-page PDF upload and its status; when his last answer came."""
    answer = stack.upload(stack.bob, NORMAL_PDF, "weekly.pdf")
    assert answer.status_code == 202, answer.text
    assert stack.status(answer.json()["jobId"], stack.bob)["state"] in ("waiting", "active", "completed")
    return time.monotonic()


def test_a_bomb_job_dies_with_its_reason_and_its_flyer_fails_while_others_are_served(stack):
    started = time.monotonic()
    answer = stack.upload(stack.ann, BOMB, "bomb.pdf")
    assert answer.status_code == 202, answer.text  # the API read the structure, drew nothing
    job_id, flyer_id = answer.json()["jobId"], answer.json()["flyerId"]
    bob_uploads_and_reads_his_status(stack)
    (*_, final) = stack.wait(job_id, stack.ann, timeout=BOMB_BOUND)
    assert time.monotonic() - started < BOMB_BOUND
    assert (final["state"], final["attempt"]) == ("dead", 1), final  # permanent: not retried
    assert "could not be rendered within the renderer's limits" in final["error"]
    flyer = stack.client.get(f"/api/flyers/{flyer_id}", headers=stack.ann).json()
    assert flyer["status"] == "failed" and "renderer's limits" in flyer["error"]
    # The worker never drew the page itself: its own memory stayed below the renderer's limit.
    assert stack.worker.poll() is None
    assert peak_memory_mib(stack.worker.pid) < STACK_MEMORY_MB


def test_the_synchronous_route_refuses_the_bomb_without_holding_up_other_users(stack):
    body, form = multipart("bomb.pdf", BOMB)

    def ann_posts_the_bomb() -> tuple[int, str, float]:
        legacy = stack.client.post("/api/ai/upload-legacy", content=body, headers={**stack.ann, **form})
        return legacy.status_code, legacy.text, time.monotonic()

    with ThreadPoolExecutor(2) as pool:
        ann = pool.submit(ann_posts_the_bomb)
        time.sleep(0.3)  # Ann's request is being read or rendered
        bob = pool.submit(bob_uploads_and_reads_his_status, stack)
        status, text, ann_done = ann.result(timeout=BOMB_BOUND)
        bob_done = bob.result(timeout=BOMB_BOUND)
    assert status == 422, text
    assert "could not be rendered within the renderer's limits" in text
    # Bob was answered before Ann's bomb was given up on: nothing serialised him behind it.
    assert bob_done < ann_done
    assert stack.client.get("/healthz").status_code == 200
