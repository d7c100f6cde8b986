"""An upload taken in by the API on one machine is read by a worker on another: two hosts with
data folders of their own, on the shared real Redis and one real PostgreSQL database, keeping
uploads in the database or in a real S3-compatible server on loopback (moto's, see `s3_blobs`)."""

from __future__ import annotations

import uuid

import pytest

from jobhost.testing import client, discard, open_database
from jobhost_flyer_ocr.records import Flyers
from tests.plugins.flyer_ocr import flyergen
from tests.plugins.flyer_ocr.flyerstack import multipart

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def shared_env(tmp_path):
    """What the API's and the worker's machines share: Redis, its prefix, the database."""
    with open_database("postgresql", tmp_path) as url:
        yield {
            "REDIS_URL": REDIS_URL,
            "JOBHOST_REDIS_PREFIX": f"jobhost-machines-{uuid.uuid4().hex[:12]}",
            "DATABASE_URL": url,
        }


def files_under(folder) -> list[str]:
    return (
        sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
        if folder.exists()
        else []
    )


async def upload_on_one_machine_process_on_another(make_host, tmp_path, env, flyer):
    api = make_host(installed=("flyer_ocr",), JOBHOST_DATA_DIR=str(tmp_path / "api-machine"), **env)
    worker = make_host(installed=("flyer_ocr",), JOBHOST_DATA_DIR=str(tmp_path / "worker-machine"), **env)
    try:
        async with client(api) as http:
            await http.login()
            body, headers = multipart("week 49.png", flyergen.encode(flyer.pages, "png"))
            answer = await http.post("/api/ai/upload-and-process", content=body, headers=headers)
            assert answer.status_code == 202, answer.text
            accepted = answer.json()
            async with worker.worker(["flyer-processing"]):
                job = await worker.wait(accepted["jobId"], timeout=90)
        record = await Flyers(worker.db).get(accepted["flyerId"])
        return job, record
    finally:
        await discard(api)
        await discard(worker)


@pytest.mark.parametrize("store", ["database", "s3"])
async def test_the_worker_reads_the_upload_the_api_stored(
    request, make_host, tmp_path, shared_env, grid_flyer, store
):
    # The database store is the default once DATABASE_URL is set; S3 is chosen by its settings.
    env = {**shared_env, **(request.getfixturevalue("s3_blobs") if store == "s3" else {})}
    job, record = await upload_on_one_machine_process_on_another(make_host, tmp_path, env, grid_flyer)
    assert job.state == "completed", job.errors
    assert record.status == "processed" and len(record.items) >= 10
    assert files_under(tmp_path / "api-machine" / "uploads") == []
    assert files_under(tmp_path / "worker-machine" / "uploads") == []


async def test_a_folder_store_on_each_machine_fails_the_job_saying_where_it_looked(
    make_host, tmp_path, shared_env, grid_flyer
):
    """What the blob store fixes: each machine's own folder, as JOBHOST_BLOB_STORE=folder keeps."""
    env = {**shared_env, "JOBHOST_BLOB_STORE": "folder"}
    job, record = await upload_on_one_machine_process_on_another(make_host, tmp_path, env, grid_flyer)
    assert (job.state, job.attempt) == ("dead", 1)
    assert "gone from the folder blob store" in job.errors[0].error
    assert record.status == "failed"
    [stored] = files_under(tmp_path / "api-machine" / "uploads")
    assert stored.startswith("flyer-") and stored.endswith(".png")
