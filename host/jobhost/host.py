"""The host: settings, loaded plugins, their services and events, and the process lifecycle."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterable
from typing import Any

import attrs

from jobhost.errors import ServiceUnavailable
from jobhost.plugins import PluginError, Plugins, Registry
from jobhost.settings import Settings

log = logging.getLogger("jobhost")


@attrs.frozen
class Event:
    """Something a plugin announces to the others, e.g. `flyer.processed`; `data` is JSON-ready."""

    name: str
    data: dict[str, Any]
    source: str | None = None


class Host:
    """One jobhost process's view of the world. Build it with `Host.load()`."""

    def __init__(self, settings: Settings, plugins: Plugins) -> None:
        self.settings = settings
        self.plugins = plugins
        self._engine: Any = None
        self._started = False

    @classmethod
    def load(cls, settings: Settings | None = None, extra_plugins: Iterable[tuple[str, Any]] = ()) -> Host:
        """Read settings, load the installed plugins (and `extra_plugins`, for tests)."""
        settings = settings or Settings.from_env()
        plugins = Plugins(settings, extra_plugins)
        plugins.load()
        host = cls(settings, plugins)
        # A bad plugin setting or queue variable fails at start-up too, naming the variable.
        for setting in host.registry.settings:
            settings.read(setting)
        for policy in host.registry.queues.values():
            settings.concurrency(policy)
            settings.rate_limit(policy)
        return host

    @property
    def registry(self) -> Registry:
        return self.plugins.registry

    @property
    def degraded(self) -> bool:
        return self.registry.degraded

    def service(self, name: str) -> Any:
        """A service a plugin offers (e.g. `mail`), or ServiceUnavailable saying why not."""
        try:
            return self.registry.services[name]
        except KeyError:
            raise ServiceUnavailable(
                f"no plugin offers the {name!r} service; is the plugin that provides it "
                "installed and enabled? (see `jobhost plugins`)"
            ) from None

    async def emit(self, name: str, data: dict[str, Any], source: str | None = None) -> None:
        """Tell every plugin's `handle_event` about an event; one failing handler spares the rest."""
        event = Event(name, data, source)
        for info, result in self.plugins.call_each("handle_event", event=event, host=self):
            if inspect.isawaitable(result):
                try:
                    await result
                except Exception:
                    log.exception("%s: handling event %r failed", info.label, name)

    async def _lifecycle(self, hook: str) -> None:
        for info, result in self.plugins.call_each(hook, host=self):
            if inspect.isawaitable(result):
                try:
                    await result
                except Exception:
                    if hook == "startup" and self.settings.strict_plugins:
                        raise PluginError(f"{info.label}: startup failed") from None
                    log.exception("%s: %s failed", info.label, hook)

    async def start(self) -> None:
        if not self._started:
            self._started = True
            await self._lifecycle("startup")

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self._lifecycle("shutdown")
