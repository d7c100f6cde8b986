"""Embedded mode keeps its jobs across a restart: the in-process store's snapshot, written as
`jobhost run` writes it, read into a new store as the next `jobhost run` reads it."""

from __future__ import annotations

import json
import stat

import fakeredis
import pytest

from jobhost.queue import connection
from jobhost.queue.connection import embedded_snapshots
from jobhost.worker import running_worker
from tests.queue.queue_support import load_host, make_settings


@pytest.fixture
def fresh_store(monkeypatch):
    """A process's store from scratch, as after a restart (the previous one is dropped)."""

    def restart() -> None:
        monkeypatch.setattr(connection, "_embedded", fakeredis.FakeServer())

    restart()
    return restart


async def test_queued_delayed_and_finished_jobs_and_their_status_survive_a_restart(tmp_path, fresh_store):
    settings = make_settings("embedded", "jhsnap", tmp_path, shutdown_timeout=5.0)
    host = load_host(settings)
    done = await host.enqueue("t-basic.noop")
    async with running_worker(host, ["t-basic"]):
        assert (await host.wait(done.id, 10)).state == "completed"
    waiting = await host.enqueue("t-basic.noop")
    delayed = await host.enqueue("t-basic.noop", delay=3600)
    before = {job.id: (await host.job(job.id)).as_dict() for job in (done, waiting, delayed)}
    await embedded_snapshots(settings).save()
    await host.engine.close()
    path = settings.data_dir / "queues.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["version"] == 1

    fresh_store()
    host = load_host(settings)
    assert await host.job(done.id) is None  # a new, empty store
    assert await embedded_snapshots(settings).load() > 0
    after = {job_id: (await host.job(job_id)).as_dict() for job_id in before}
    assert after == before
    assert [after[j.id]["state"] for j in (done, waiting, delayed)] == ["completed", "waiting", "delayed"]
    # The restored queue runs: the waiting job is taken, new jobs go through, the delayed one stays.
    async with running_worker(host, ["t-basic"]):
        assert (await host.wait(waiting.id, 10)).state == "completed"
        fresh = await host.enqueue("t-basic.noop")
        assert (await host.wait(fresh.id, 10)).state == "completed"
    assert (await host.job(delayed.id)).state == "delayed"
    await host.engine.close()


async def test_an_unreadable_snapshot_is_set_aside_not_lost(tmp_path, fresh_store):
    settings = make_settings("embedded", "jhsnap", tmp_path)
    path = settings.data_dir / "queues.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    assert await embedded_snapshots(settings).load() == 0
    assert not path.exists()
    assert [p.read_text() for p in path.parent.glob("queues.unreadable-*.json")] == ["{not json"]
