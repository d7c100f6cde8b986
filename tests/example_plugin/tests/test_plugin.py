"""The plugin in a host: what it registers, its name and table, and its task running for real on
the embedded store (no Redis needed), written as a third party would with `jobhost.testing`."""

from jobhost_hello import plugin
from jobhost_hello.guestbook import Guestbook

from jobhost import JobFailed
from jobhost.testing import discard, migrate


def test_the_plugin_goes_by_its_entry_point_name_and_registers_its_parts(make_host):
    host = make_host(plugin)  # installed as `hello = "jobhost_hello.plugin"`: named `hello`
    hello = host.registry.plugins["hello"].as_dict()  # what `jobhost plugins --json` shows
    assert (hello["status"], hello["error"]) == ("loaded", None)
    assert host.registry.queues["hello"].attempts == 4
    assert hello["tasks"] == [{"name": "hello.greet", "queue": "hello"}]
    assert hello["routes"] == ["/api/hello/{name:str}", "/api/hello/{name:str}/jobs"]
    assert hello["admin_routes"] == ["/api/admin/hello/stats"]
    assert host.registry.schedules["hello-nightly"].task == "hello.greet"


async def test_its_tables_have_a_history_of_their_own_named_after_it(make_host):
    host = make_host(plugin)
    assert (await migrate(host))["hello"] == ("hello_0001",)  # in table alembic_version_hello
    assert await Guestbook(host.db).total() == 0
    await discard(host)


async def test_the_task_greets_and_signs_the_guestbook(make_host):
    host = make_host(plugin, migrate=True)
    async with host.worker():
        first = await (await plugin.greet.kiq("Ada")).wait_result(timeout=10)
        kicked = await plugin.greet.kiq(name=" Ada ")
        second = await kicked.wait_result(timeout=10)
    assert (first.is_err, first.return_value) == (False, "Hello, Ada!")
    assert second.return_value == "Hello, Ada!"
    assert (await host.job(kicked.task_id)).progress["percent"] == 50
    assert await Guestbook(host.db).sign("Ada") == 3  # both jobs signed as "Ada", this is the third
    await discard(host)


async def test_a_setting_changes_how_the_task_greets(make_host):
    host = make_host(plugin, migrate=True, HELLO_SHOUT="1")
    async with host.worker():
        result = await (await plugin.greet.kiq("Ada")).wait_result(timeout=10)
    assert result.return_value == "HELLO, ADA!"
    await discard(host)


async def test_a_bad_name_goes_dead_on_its_first_try(make_host):
    host = make_host(plugin, migrate=True)
    async with host.worker():
        kicked = await plugin.greet.kiq("   ")
        result = await kicked.wait_result(timeout=10)
    job = await host.job(kicked.task_id)
    assert (job.state, job.attempt) == ("dead", 1)  # PermanentError: not retried 4 times
    assert result.is_err and isinstance(result.error, JobFailed)
    assert "name must not be empty" in str(result.error)
    assert await Guestbook(host.db).total() == 0
    await discard(host)
