"""Plugin discovery, isolation and registration, with real entry points and throwaway objects."""

from __future__ import annotations

import types

import pytest
from litestar import get

from jobhost import Backoff, QueuePolicy, Setting, hookimpl
from jobhost.host import Host
from jobhost.plugins import PluginError
from jobhost.settings import Settings
from jobhost.testing import deliver
from tests.conftest import plugins_json, run_jobhost

SEED_QUEUES = {
    "flyer-processing": ("flyer_ocr", 3, 5, "WORKER_CONCURRENCY", 1),
    "email-sending": ("email", 5, 10, "EMAIL_WORKER_CONCURRENCY", 10),
    "analytics-reporting": ("analytics", 2, 60, "ANALYTICS_WORKER_CONCURRENCY", 1),
    "weekly-analytics-reporting": ("analytics", 2, 3600, "ANALYTICS_WORKER_CONCURRENCY", 1),
    "file-cleanup": ("cleanup", 3, 30, "CLEANUP_WORKER_CONCURRENCY", 10),
    "token-cleanup": ("cleanup", 2, 3600, "CLEANUP_WORKER_CONCURRENCY", 10),
}


def plugin(**hooks) -> types.SimpleNamespace:
    """A throwaway plugin object whose attributes are hook implementations."""
    return types.SimpleNamespace(**{name: hookimpl(fn) for name, fn in hooks.items()})


def queue_plugin(*names: str) -> types.SimpleNamespace:
    def register_queues(register):
        for name in names:
            register(QueuePolicy(name))

    return plugin(register_queues=register_queues)


def noop():
    return None


def test_the_six_seed_queues_load_with_their_policies():
    data = plugins_json()
    assert not data["degraded"]
    queues = {q["name"]: (p["name"], q) for p in data["plugins"] for q in p["queues"]}
    events = {name: owner for name, (owner, _) in queues.items() if name.startswith("events.")}
    assert events == {"events.analytics": "analytics", "events.email": "email"}  # their handle_event
    assert set(queues) - set(events) == set(SEED_QUEUES)
    for name, (owner, attempts, base, env, default) in SEED_QUEUES.items():
        plugin_name, policy = queues[name]
        assert plugin_name == owner
        assert (policy["attempts"], policy["backoff"]["kind"], policy["backoff"]["delay"]) == (
            attempts,
            "exponential",
            base,
        )
        assert (policy["concurrency_env"], policy["concurrency"]) == (env, default)


def test_listing_shows_distribution_version_and_status():
    flyer = plugins_json()["by_name"]["flyer_ocr"]
    assert flyer["distribution"] == "jobhost-flyer-ocr"
    assert flyer["version"] == "0.1.0"
    assert flyer["status"] == "loaded"
    assert "register_queues" in flyer["hooks"]


def test_disable_and_allow_list():
    data = plugins_json(env={"JOBHOST_DISABLE_PLUGINS": "email,analytics"})["by_name"]
    assert data["email"]["status"] == data["analytics"]["status"] == "disabled"
    assert data["email"]["queues"] == []
    assert data["flyer_ocr"]["status"] == "loaded"
    only = plugins_json(env={"JOBHOST_LOAD_PLUGINS": "flyer_ocr"})["by_name"]
    assert [n for n, p in only.items() if p["status"] == "loaded"] == ["flyer_ocr"]
    none = plugins_json(env={"JOBHOST_LOAD_PLUGINS": ""})["by_name"]
    assert {p["status"] for p in none.values()} == {"disabled"}


@pytest.mark.parametrize("var", ["JOBHOST_LOAD_PLUGINS", "JOBHOST_DISABLE_PLUGINS"])
def test_unknown_plugin_name_lists_the_valid_ones(var):
    proc = run_jobhost("plugins", env={var: "flyer_ocr,emial"})
    assert proc.returncode == 2
    assert (
        f"{var}: unknown plugin 'emial'; installed plugins are: analytics, cleanup, email, flyer_ocr"
        in proc.stderr
    )
    assert "Fix the environment variable" in proc.stderr


BROKEN_IMPORT = {"broken_mod": "import does_not_exist_anywhere\n"}
RAISES_IN_HOOK = {
    "raising_mod": """
    from jobhost import hookimpl

    @hookimpl
    def register_queues(register):
        raise RuntimeError("database is on fire")
"""
}
BAD_POLICY = {
    "badpolicy_mod": """
    from jobhost import QueuePolicy, hookimpl

    @hookimpl
    def register_queues(register):
        register(QueuePolicy("bad-queue", attempts=0))
"""
}
CASES = [
    ("broken", "broken_mod", BROKEN_IMPORT, "ModuleNotFoundError: No module named 'does_not_exist_anywhere'"),
    (
        "raising",
        "raising_mod",
        RAISES_IN_HOOK,
        "hook register_queues failed: RuntimeError: database is on fire",
    ),
    (
        "badpolicy",
        "badpolicy_mod",
        BAD_POLICY,
        "hook register_queues failed: PolicyError: queue 'bad-queue': attempts must be >= 1, got 0",
    ),
]


@pytest.mark.parametrize(("name", "module", "modules", "reason"), CASES)
def test_a_broken_plugin_is_reported_and_the_host_runs_without_it(dist_path, name, module, modules, reason):
    path = dist_path(f"jobhost-{name}", {name: module}, modules)
    data = plugins_json(path=path)
    assert data["degraded"] is True
    info = data["by_name"][name]
    assert info["status"] == "failed"
    # The report names the hook and the plugin's own line that raised.
    assert info["error"].startswith(reason)
    if "hook" in reason:
        assert info["error"].endswith(f"{module}.py:6)")
    assert (info["distribution"], info["version"]) == (f"jobhost-{name}", "1.2.3")
    assert data["by_name"]["email"]["status"] == "loaded"
    table = run_jobhost("plugins", path=path)
    assert f"plugin '{name}' (jobhost-{name} 1.2.3) failed: {reason}" in table.stderr
    assert "The host runs degraded" in table.stderr


@pytest.mark.parametrize(("name", "module", "modules", "reason"), CASES)
def test_strict_mode_makes_any_plugin_failure_fatal(dist_path, name, module, modules, reason):
    path = dist_path(f"jobhost-{name}", {name: module}, modules)
    proc = run_jobhost("plugins", path=path, env={"JOBHOST_STRICT_PLUGINS": "1"})
    assert proc.returncode == 2
    assert f"jobhost: plugin '{name}' (jobhost-{name} 1.2.3): {reason}" in proc.stderr


def test_a_disabled_broken_plugin_is_never_imported(dist_path):
    path = dist_path("jobhost-broken", {"broken": "broken_mod"}, BROKEN_IMPORT)
    info = plugins_json(path=path, env={"JOBHOST_DISABLE_PLUGINS": "broken"})
    assert info["by_name"]["broken"]["status"] == "disabled"
    assert info["degraded"] is False


def test_two_plugins_claiming_one_queue_name_both(make_host):
    host = make_host(("first", queue_plugin("shared")), ("second", queue_plugin("shared")))
    second = host.registry.plugins["second"]
    assert second.status == "failed"
    assert second.error == "queue 'shared' is already registered by plugin 'first'"
    assert host.registry.owners[("queue", "shared")] == "first"


def test_two_plugins_claiming_one_task_name(make_host):
    def tasks(register):
        register(noop, queue="q", name="common.task")

    def same_tasks(register):
        register(noop, queue="q", name="common.task")

    host = make_host(
        ("first", queue_plugin("q")),
        ("a", plugin(register_tasks=tasks)),
        ("b", plugin(register_tasks=same_tasks)),
    )
    assert host.registry.plugins["b"].error == "task 'common.task' is already registered by plugin 'a'"
    assert host.registry.tasks["common.task"].plugin == "a"


def test_strict_mode_in_process_raises_with_the_plugin_name(tmp_path):
    settings = Settings.from_env({"JOBHOST_LOAD_PLUGINS": "", "JOBHOST_STRICT_PLUGINS": "1"})
    with pytest.raises(
        PluginError, match="plugin 'second': queue 'x' is already registered by plugin 'first'"
    ):
        Host.load(settings, [("first", queue_plugin("x")), ("second", queue_plugin("x"))])


def test_hook_register_queues(make_host):
    host = make_host(("mine", queue_plugin("alpha", "beta")))
    assert list(host.registry.queues) == ["alpha", "beta"]
    assert host.registry.plugins["mine"].as_dict()["queues"][0]["name"] == "alpha"
    bad = make_host(("bad", plugin(register_queues=lambda register: register({"name": "x"}))))
    assert bad.registry.plugins["bad"].error == (
        "hook register_queues failed: InvalidRegistration: register_queues takes a QueuePolicy, "
        f"got {{'name': 'x'}} ({__file__}:{test_hook_register_queues.__code__.co_firstlineno + 4})"
    )


def test_hook_register_tasks(make_host):
    def tasks(register):
        register(noop, queue="work")
        register(noop, queue="work", name="mine.custom")

    host = make_host(("mine", queue_plugin("work")), ("tasker", plugin(register_tasks=tasks)))
    assert set(host.registry.tasks) == {"tasker.noop", "mine.custom"}
    assert host.registry.tasks["tasker.noop"].queue == "work"


def test_a_task_on_a_missing_queue_fails_its_plugin(make_host):
    host = make_host(("tasker", plugin(register_tasks=lambda register: register(noop, queue="nope"))))
    assert host.registry.plugins["tasker"].error == (
        "InvalidRegistration: task 'tasker.noop': queue 'nope' is not registered"
    )
    assert host.registry.tasks == {}


def test_losing_a_queue_fails_the_plugins_that_used_it(make_host):
    def tasks(register):
        register(noop, queue="q")

    def broken_schedules(register):
        register("s", cron="every tuesday", task="x")

    owner = plugin(
        register_queues=lambda register: register(QueuePolicy("q")), register_schedules=broken_schedules
    )
    host = make_host(("owner", owner), ("user", plugin(register_tasks=tasks)))
    assert host.registry.plugins["owner"].status == "failed"
    assert host.registry.plugins["user"].error == (
        "InvalidRegistration: task 'user.noop': queue 'q' is not registered"
    )
    assert host.registry.queues == {}


def test_hook_register_routes(make_host):
    @get("/api/hello")
    async def hello() -> str:
        return "hi"

    host = make_host(("web", plugin(register_routes=lambda register: register(hello))))
    assert [r.paths for r in host.registry.routes if r.plugin == "web"] == [("/api/hello",)]
    assert host.registry.plugins["web"].as_dict()["routes"] == ["/api/hello"]
    bad = make_host(("web", plugin(register_routes=lambda register: register("/api/x"))))
    assert "routes must be Litestar route handlers" in bad.registry.plugins["web"].error


def test_hook_register_admin_routes(make_host):
    @get("/hello/stats")
    async def stats() -> dict:
        return {}

    host = make_host(("web", plugin(register_admin_routes=lambda register: register(stats))))
    assert [r.paths for r in host.registry.admin_routes if r.plugin == "web"] == [("/hello/stats",)]
    assert host.registry.plugins["web"].as_dict()["admin_routes"] == ["/api/admin/hello/stats"]
    assert not [r for r in host.registry.routes if r.plugin == "web"]


def test_hook_register_schedules(make_host):
    def tasks(register):
        register(noop, queue="q", name="t")

    def schedules(register):
        register("nightly", cron="0 3 * * *", task="t", kwargs={"full": True})

    host = make_host(
        ("p", queue_plugin("q")), ("s", plugin(register_tasks=tasks, register_schedules=schedules))
    )
    schedule = host.registry.schedules["nightly"]
    assert (schedule.cron, schedule.task, dict(schedule.kwargs), schedule.plugin) == (
        "0 3 * * *",
        "t",
        {"full": True},
        "s",
    )
    bad = make_host(
        ("s", plugin(register_schedules=lambda register: register("x", cron="61 * * * *", task="t")))
    )
    assert bad.registry.plugins["s"].error.startswith(
        "hook register_schedules failed: InvalidRegistration: schedule 'x': cron must be a 5-field "
        "cron expression such as '0 3 * * *', got '61 * * * *' ("
    )


def test_hook_register_settings(make_host):
    setting = Setting("HELLO_GREETING", "hi", help="what to say")
    host = make_host(("p", plugin(register_settings=lambda register: register(setting))))
    assert host.registry.settings == [setting]
    assert host.settings.read(setting) == "hi"


def test_hook_register_services(make_host):
    service = object()
    host = make_host(("p", plugin(register_services=lambda register: register("mail", service))))
    assert host.service("mail") is service
    empty = make_host()
    with pytest.raises(Exception, match="no plugin offers the 'mail' service"):
        empty.service("mail")


def test_hook_register_migrations(make_host, tmp_path):
    host = make_host(("p", plugin(register_migrations=lambda register: register(tmp_path))))
    assert host.registry.migrations == [str(tmp_path)]


def test_hook_register_commands(dist_path):
    path = dist_path(
        "jobhost-greeter",
        {"greeter": "greeter_mod"},
        {
            "greeter_mod": """
        import click
        from jobhost import hookimpl

        @hookimpl
        def register_commands(cli):
            @cli.command()
            @click.argument("name")
            def greet(name):
                "Say hello."
                click.echo(f"hello {name}")
    """
        },
    )
    assert run_jobhost("greet", "ada", path=path, check=True).stdout == "hello ada\n"
    assert "greet" in run_jobhost("--help", path=path, check=True).stdout
    assert plugins_json(path=path)["by_name"]["greeter"]["commands"] == ["greet"]


async def test_hook_startup_and_hook_shutdown(make_host):
    calls = []

    async def startup(host):
        calls.append(("start", host))

    def shutdown(host):
        calls.append(("stop", host))

    host = make_host(("p", plugin(startup=startup, shutdown=shutdown)))
    await host.start()
    await host.start()  # idempotent
    await host.stop()
    assert calls == [("start", host), ("stop", host)]


async def test_hook_handle_event(make_host):
    seen = []

    def handle_event(event, host):
        seen.append((event.name, event.data, event.source))

    async def failing(event, host):
        raise RuntimeError("boom")

    host = make_host(("bad", plugin(handle_event=failing)), ("good", plugin(handle_event=handle_event)))
    jobs = await deliver(host, "flyer.processed", {"flyer_id": 1}, source="flyer_ocr")
    assert seen == [("flyer.processed", {"flyer_id": 1}, "flyer_ocr")]
    states = {job.queue: job.state for job in jobs}
    assert states == {"events.bad": "delayed", "events.good": "completed"}  # bad's is retried later


def test_backoff_of_a_registered_policy_is_usable(make_host):
    host = make_host(
        ("p", plugin(register_queues=lambda register: register(QueuePolicy("q", backoff=Backoff.fixed(2)))))
    )
    assert host.registry.queues["q"].backoff.delay_for(3) == 2
