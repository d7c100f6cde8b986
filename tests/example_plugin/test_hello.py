"""The example plugin's own tests, written as a third party would with `jobhost.testing`."""

import pytest
from jobhost_hello import plugin
from jobhost_hello.greeting import greeting


def test_greeting():
    assert greeting(" Ada ") == "Hello, Ada!"
    assert greeting("ada", shout=True) == "HELLO, ADA!"
    with pytest.raises(ValueError, match="name must not be empty"):
        greeting("  ")


def test_plugin_registers_its_queue_task_and_routes(make_host):
    host = make_host(plugin)
    assert host.registry.plugins["plugin"].status == "loaded"
    assert host.registry.queues["hello"].attempts == 4
    assert host.registry.tasks["hello.greet"].queue == "hello"
    assert host.registry.routes[0].paths == ("/api/hello/{name:str}",)
    assert host.registry.schedules["hello-nightly"].task == "hello.greet"


async def test_a_job_runs_on_the_embedded_store(make_host):
    from jobhost.testing import discard

    host = make_host(plugin)
    async with host.worker():
        job = await host.enqueue("hello.greet", {"name": "Ada"})
        done = await host.wait(job.id, timeout=10)
    await discard(host)
    assert (done.state, done.result, done.attempt) == ("completed", "Hello, Ada!", 1)
    assert done.progress["percent"] == 50
