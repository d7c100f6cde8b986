"""pluggy calls the hooks: typos in hook names, failing startups, ordering and wrappers."""

from __future__ import annotations

import logging

import pytest
from litestar.testing import AsyncTestClient
from taskiq import TaskiqMiddleware

from jobhost import hookimpl
from jobhost.http import create_app
from jobhost.plugins import PluginError
from tests.conftest import plugins_json, run_jobhost
from tests.host.test_plugins import plugin

TYPO = {
    "typo_mod": """
    from jobhost import QueuePolicy, hookimpl

    @hookimpl
    def register_queue(register):
        register(QueuePolicy("typo-queue"))
"""
}


def test_a_misspelt_hook_is_reported_with_the_nearest_valid_one(dist_path):
    path = dist_path("jobhost-typo", {"typo": "typo_mod"}, TYPO)
    info = plugins_json(path=path)["by_name"]["typo"]
    assert info["status"] == "failed"
    assert info["error"] == (
        "implements 'register_queue', which is not a jobhost hook; did you mean 'register_queues'?"
    )
    strict = run_jobhost("plugins", path=path, env={"JOBHOST_STRICT_PLUGINS": "1"})
    assert strict.returncode == 2
    assert "plugin 'typo' (jobhost-typo 1.2.3): implements 'register_queue'" in strict.stderr
    assert "environment variable" not in strict.stderr  # the plugin is to blame, not a setting


def _failing_sync(host):
    raise RuntimeError("no licence key")


async def _failing_async(host):
    raise ValueError("cannot reach the vendor")


@pytest.mark.parametrize(
    ("hook", "reason"),
    [
        (_failing_sync, "RuntimeError: no licence key"),
        (_failing_async, "ValueError: cannot reach the vendor"),
    ],
)
async def test_a_failing_startup_fails_its_plugin_in_the_listing_and_readyz(make_host, hook, reason):
    started = []
    host = make_host(("bad", plugin(startup=hook)), ("good", plugin(startup=lambda host: started.append(1))))
    app = create_app(host)
    async with AsyncTestClient(app) as client:  # the app's lifespan starts the host
        ready = (await client.get("/readyz")).json()
    bad = host.registry.plugins["bad"]
    assert bad.status == "failed"
    assert bad.error.startswith(f"hook startup failed: {reason} (")
    assert bad.error.endswith(f"test_plugin_calls.py:{hook.__code__.co_firstlineno + 1})")
    assert started == [1]  # the other plugin started
    assert ready["failed_plugins"] == ["bad"] and ready["degraded"] is True
    assert ready["status"] == "ready"  # degraded is not unready: see docs/operators.md


@pytest.mark.parametrize("hook", [_failing_sync, _failing_async])
async def test_strict_mode_stops_on_a_failing_startup(make_host, hook):
    host = make_host(("bad", plugin(startup=hook)), JOBHOST_STRICT_PLUGINS="1")
    with pytest.raises(PluginError, match=r"plugin 'bad': hook startup failed: \w+Error"):
        await host.start()


async def test_debug_logging_shows_the_traceback_of_a_failure(make_host, caplog):
    host = make_host(("bad", plugin(startup=_failing_sync)))
    with caplog.at_level(logging.DEBUG, logger="jobhost.plugins"):
        await host.start()
    records = [r for r in caplog.records if r.name == "jobhost.plugins"]
    assert any(r.levelno == logging.ERROR and "no licence key" in r.getMessage() for r in records)
    assert any(r.levelno == logging.DEBUG and r.exc_info for r in records)


async def test_tryfirst_trylast_and_wrappers_are_honoured(make_host):
    calls: list[str] = []

    class Early:
        @hookimpl(tryfirst=True)
        def startup(self, host):
            calls.append("early")

    class Late:
        @hookimpl(trylast=True)
        def startup(self, host):
            calls.append("late")

    class Plain:
        @hookimpl
        def startup(self, host):
            calls.append("plain")

    class Wrapper:
        @hookimpl(wrapper=True)
        def startup(self, host):
            calls.append("(")
            result = yield
            calls.append(")")
            return result

    host = make_host(("late", Late()), ("plain", Plain()), ("early", Early()), ("wrap", Wrapper()))
    await host.start()
    # The empty pair wraps the built-in `accounts` plugin's startup (registered first, so called
    # after every plugin that is not trylast).
    assert calls == ["(", "early", ")", "(", "plain", ")", "(", ")", "(", "late", ")"]


def test_hook_register_middlewares(make_host):
    class Counting(TaskiqMiddleware):
        pass

    host = make_host(("mw", plugin(register_middlewares=lambda register: register(Counting()))))
    assert [type(m) for m in host.registry.middlewares] == [Counting]
    assert host.registry.plugins["mw"].contribution.summary()["middlewares"] == ["Counting"]
    assert isinstance(host.broker.middlewares[0], Counting)

    bad = make_host(("bad", plugin(register_middlewares=lambda register: register(object()))))
    assert bad.registry.plugins["bad"].status == "failed"
    assert "takes a taskiq TaskiqMiddleware instance" in bad.registry.plugins["bad"].error
