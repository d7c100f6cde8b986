"""Job dependencies and flows: waiting for delayed and retried dependencies, reading their
results, a failed dependency (fail, run, ignore), a three-level flow across two queues. In both
modes."""

from __future__ import annotations

import pytest

from jobhost.queue import Flow, JobInputError
from jobhost.worker import running_worker


async def test_a_job_waits_for_delayed_and_retried_dependencies_then_reads_results(host):
    later = await host.enqueue("t-basic.add", {"a": 1, "b": 1}, delay=0.5)
    flaky = await host.enqueue("t-basic.fail", {"times": 1})  # succeeds on its second try, 0.5 s on
    parent = await host.enqueue("t-basic.gather", depends_on=[later.id, flaky.id])
    assert parent.state == "waiting-deps" and parent.depends_on == (later.id, flaky.id)
    assert (await host.job(later.id)).dependents == (parent.id,)
    assert (await host.engine.counts("t-basic"))["waiting-deps"] == 1
    async with running_worker(host, ["t-basic"]):
        done = await host.engine.wait(parent.id, timeout=15)
    deps = [await host.job(later.id), await host.job(flaky.id)]
    assert done.state == "completed"
    assert done.result == {later.id: 2, flaky.id: "ok"}
    assert deps[1].attempt == 2
    assert all(done.started_at >= dep.finished_at for dep in deps)  # never too early


@pytest.mark.parametrize(
    ("mode_on_failure", "state", "result"),
    [("fail", "dead", None), ("run", "completed", {}), ("ignore", "completed", "slow only")],
)
async def test_a_dead_dependency_fails_its_dependent_unless_it_runs_or_ignores(
    host, mode_on_failure, state, result
):
    doomed = await host.enqueue("t-basic.permanent")  # dead after its first try
    slow = await host.enqueue("t-basic.add", {"a": 2, "b": 3}, delay=1.0)
    job = await host.enqueue(
        "t-basic.gather", depends_on=[doomed.id, slow.id], on_dependency_failure=mode_on_failure
    )
    async with running_worker(host, ["t-basic"]):
        done = await host.engine.wait(job.id, timeout=15)
        slow_done = await host.engine.wait(slow.id, timeout=15)
    assert done.state == state
    if mode_on_failure == "fail":
        assert done.errors[0].error == f"DependencyFailed: dependency {doomed.id} is dead"
    elif mode_on_failure == "run":  # at once, without waiting for `slow`
        assert done.result == {} and done.started_at < slow_done.finished_at
    else:  # waited for `slow`, left the dead one out
        assert done.result == {slow.id: 5} and done.started_at >= slow_done.finished_at


async def test_a_dependency_that_is_cancelled_or_removed_fails_its_dependents(host):
    first = await host.enqueue("t-basic.add", {"a": 1, "b": 1}, delay=60)
    second = await host.enqueue("t-basic.add", {"a": 1, "b": 1}, delay=60)
    a = await host.enqueue("t-basic.gather", depends_on=[first.id])
    b = await host.enqueue("t-basic.gather", depends_on=[second.id])
    await host.engine.cancel(first.id)
    await host.engine.remove(second.id)
    assert (await host.job(a.id)).errors[0].error.endswith(f"{first.id} is cancelled")
    assert (await host.job(b.id)).errors[0].error.endswith(f"{second.id} is removed")
    with pytest.raises(JobInputError, match="depends_on names no job 't-basic:00'"):
        await host.enqueue("t-basic.gather", depends_on=["t-basic:00"])
    with pytest.raises(JobInputError, match="on_dependency_failure must be one of"):
        await host.enqueue("t-basic.gather", depends_on=[a.id], on_dependency_failure="maybe")


async def test_a_three_level_flow_across_two_queues(host):
    flow = Flow(
        "t-basic.gather",
        children=[
            Flow(
                "t-slow.gather",
                children=[Flow("t-basic.add", {"a": 1, "b": 1}), Flow("t-slow.sleep", {"seconds": 0.2})],
            ),
            Flow("t-basic.add", {"a": 2, "b": 2}),
        ],
    )
    root = await host.enqueue_flow(flow)
    assert root.state == "waiting-deps" and len(root.depends_on) == 2
    middle_id, leaf_id = root.depends_on
    middle = await host.job(middle_id)
    assert (middle.queue, middle.state, middle.dependents) == ("t-slow", "waiting-deps", (root.id,))
    async with running_worker(host, ["t-basic", "t-slow"]):
        done = await host.engine.wait(root.id, timeout=15)
    first, second = middle.depends_on
    assert done.result == {middle_id: {first: 2, second: "slept"}, leaf_id: 4}
    jobs = [await host.job(job_id) for job_id in (middle_id, leaf_id, first, second)]
    assert all(j.state == "completed" for j in jobs)
    assert jobs[0].started_at >= max(jobs[2].finished_at, jobs[3].finished_at)
    assert done.started_at >= max(jobs[0].finished_at, jobs[1].finished_at)


async def test_a_refused_flow_stores_nothing(host):
    flow = Flow("t-basic.gather", children=[Flow("t-basic.add", {"a": 1, "b": 1}), Flow("t-basic.add")])
    with pytest.raises(JobInputError, match="missing a required argument: 'a'"):
        await host.enqueue_flow(flow)
    assert sum((await host.engine.counts("t-basic")).values()) == 0
