"""The search index on real Redis: terms, paging, totals, and entries leaving with their jobs."""

from __future__ import annotations

import pytest

from jobhost.queue import search
from jobhost.queue.errors import JobInputError
from tests.dashboard import demo_plugin

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def host(make_host):
    return make_host(demo_plugin, REDIS_URL=REDIS_URL)


async def test_exact_prefix_task_and_id(host):
    engine = host.engine
    ids = await engine.enqueue_many(
        "demo.process", [{"flyer_id": n, "email": f"user{n}@Example.org"} for n in range(30)]
    )
    bob = await engine.enqueue("demo.process", {"flyer_id": 42, "email": "bob@example.org"})

    page = await engine.search("demo", "flyer_id=42")
    assert [j.id for j in page.jobs] == [bob.id] and page.total == 1
    # exact does not match longer values: flyer_id=4 is not 42
    assert {j.id for j in (await engine.search("demo", "flyer_id=4")).jobs} == {ids[4]}
    prefix = await engine.search("demo", "email:user1", limit=100)  # user1, user10-19: case-folded
    assert prefix.total == 11 and {j.kwargs["flyer_id"] for j in prefix.jobs} == {1, *range(10, 20)}
    assert (await engine.search("demo", "email:bob@ flyer_id=42")).total == 1
    assert (await engine.search("demo", "email:bob@ flyer_id=41")).total == 0
    assert (await engine.search("demo", "task=demo.process", limit=5)).total == 31
    assert [j.id for j in (await engine.search("demo", bob.id)).jobs] == [bob.id]
    assert [j.id for j in (await engine.search("demo", bob.id.split(":")[1])).jobs] == [bob.id]


async def test_paging_is_newest_first(host):
    engine = host.engine
    jobs = [await engine.enqueue("demo.process", {"flyer_id": 7}) for _ in range(5)]
    first = await engine.search("demo", "flyer_id=7", limit=2)
    second = await engine.search("demo", "flyer_id=7", offset=2, limit=2)
    assert first.total == 5
    found = [j.id for j in (*first.jobs, *second.jobs)]
    created = [j.created_at for j in jobs]
    assert [j.created_at for j in (*first.jobs, *second.jobs)] == sorted(created, reverse=True)[:4]
    assert len(set(found)) == 4


async def test_entries_go_with_their_jobs(host):
    engine = host.engine
    job = await engine.enqueue("demo.process", {"flyer_id": 5})
    other = await engine.enqueue("demo.process", {"flyer_id": 6})
    assert await engine.remove(job.id)
    await engine.cancel(other.id)
    assert await engine.clean("demo", "cancelled") == 1
    assert await engine.redis.zcard(engine.keys.search("demo")) == 0


async def test_replay_with_new_kwargs_reindexes(host):
    engine = host.engine
    job = await engine.enqueue("demo.process", {"flyer_id": 5})
    await engine.cancel(job.id)
    await engine.retry(job.id, {"flyer_id": 8})
    assert (await engine.search("demo", "flyer_id=5")).total == 0
    assert [j.id for j in (await engine.search("demo", "flyer_id=8")).jobs] == [job.id]


async def test_unknown_field_names_what_is_searchable(host):
    with pytest.raises(JobInputError, match=r"does not index 'colour'; searchable: task, flyer_id, email"):
        await host.engine.search("demo", "colour=red")
    with pytest.raises(JobInputError, match="needs a value"):
        await host.engine.search("demo", "email:")


async def test_several_terms_stop_once_the_page_is_full(host, monkeypatch):
    engine = host.engine
    monkeypatch.setattr(search, "CHUNK", 10)
    await engine.enqueue_many(
        "demo.process", [{"flyer_id": n % 2, "email": f"u{n}@x.org"} for n in range(60)]
    )
    first = await engine.search("demo", "task=demo.process flyer_id=1", limit=5)
    assert len(first.jobs) == 5 and all(j.kwargs["flyer_id"] == 1 for j in first.jobs)
    assert not first.exact and first.total > 5  # it looked at one chunk, found a next page
    whole = await engine.search("demo", "task=demo.process flyer_id=1", limit=100)
    assert whole.exact and whole.total == 30
