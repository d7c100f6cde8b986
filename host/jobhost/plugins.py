"""Finding, loading and isolating plugins, and crediting each registration to its plugin.

Plugins are installed distributions that declare a module under the `jobhost` entry-point group.
A plugin that fails to import, raises in a registration hook or registers something invalid is
recorded as `failed` with its reason, and the host goes on without it (or stops, when
`JOBHOST_STRICT_PLUGINS=1`).
"""

from __future__ import annotations

import difflib
import functools
import importlib.metadata
import inspect
import logging
import traceback
import types
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import pluggy
from croniter import croniter
from taskiq import TaskiqMiddleware
from taskiq.decor import AsyncTaskiqDecoratedTask

from jobhost import hookspecs
from jobhost.policy import QueuePolicy
from jobhost.settings import Setting, Settings, SettingsError
from jobhost.sweeps import CleanupTarget
from jobhost.task import JobhostTask, TaskDefinitionError, adopt, caller_signature

log = logging.getLogger("jobhost.plugins")

GROUP = "jobhost"
HOST = "jobhost"  # the host's distribution: the plugins it declares are its built-in features
ADMIN_PATH = "/api/admin"  # where admin routes are mounted, behind the admin guard
# Registration hooks, in the order they are called for each plugin.
REGISTRATION_HOOKS = (
    "register_settings",
    "register_queues",
    "register_tasks",
    "register_middlewares",
    "register_routes",
    "register_admin_routes",
    "register_schedules",
    "register_services",
    "register_migrations",
    "register_cleanup",
)


class PluginError(RuntimeError):
    """A plugin could not be loaded, or the plugin configuration is wrong."""


class InvalidRegistration(TypeError):
    """A plugin called a `register` function with something the host cannot use."""


@attrs.frozen
class TaskDef:
    """A registered task: the taskiq task object, and what the engine and worker need of it."""

    task: JobhostTask[Any, Any]
    plugin: str
    # The parameters a job's kwargs fill, and whether the function takes `ctx` by name.
    signature: inspect.Signature = attrs.field(eq=False)
    wants_ctx: bool = False
    injects: bool = False  # has TaskiqDepends parameters
    is_async: bool = False

    @classmethod
    def of(cls, task: JobhostTask[Any, Any], plugin: str) -> TaskDef:
        fn = task.original_func
        return cls(task, plugin, *caller_signature(fn), is_async=inspect.iscoroutinefunction(fn))

    @property
    def needs_context(self) -> bool:
        """Whether a try of it gets a JobContext (by name, or for its dependencies to inject)."""
        return self.wants_ctx or self.injects

    @property
    def name(self) -> str:
        return self.task.task_name

    @property
    def queue(self) -> str:
        return str(self.task.labels["queue"])

    @property
    def fn(self) -> Callable[..., Any]:
        return self.task.original_func


@attrs.frozen
class ScheduleDef:
    name: str
    cron: str
    task: str
    kwargs: Mapping[str, Any]
    plugin: str


@attrs.frozen
class RouteDef:
    handler: Any
    paths: tuple[str, ...]
    plugin: str


@attrs.define
class Contribution:
    """What one plugin registered."""

    settings: list[Setting] = attrs.field(factory=list)
    queues: list[QueuePolicy] = attrs.field(factory=list)
    tasks: list[TaskDef] = attrs.field(factory=list)
    middlewares: list[TaskiqMiddleware] = attrs.field(factory=list)
    routes: list[RouteDef] = attrs.field(factory=list)
    admin_routes: list[RouteDef] = attrs.field(factory=list)
    schedules: list[ScheduleDef] = attrs.field(factory=list)
    services: dict[str, Any] = attrs.field(factory=dict)
    migrations: list[str] = attrs.field(factory=list)
    cleanup: list[CleanupTarget] = attrs.field(factory=list)
    commands: list[str] = attrs.field(factory=list)

    def names(self) -> list[tuple[str, str]]:
        """(kind, name) of everything that must be unique across plugins."""
        return [
            *(("queue", q.name) for q in self.queues),
            *(("task", t.name) for t in self.tasks),
            *(("schedule", s.name) for s in self.schedules),
            *(("service", name) for name in self.services),
        ]

    def summary(self) -> dict[str, Any]:
        return {
            "queues": [q.as_dict() for q in self.queues],
            "tasks": [{"name": t.name, "queue": t.queue} for t in self.tasks],
            "middlewares": [type(m).__name__ for m in self.middlewares],
            "routes": sorted(p for r in self.routes for p in r.paths),
            "admin_routes": sorted(
                ADMIN_PATH + "/" + p.lstrip("/") for r in self.admin_routes for p in r.paths
            ),
            "schedules": [{"name": s.name, "cron": s.cron, "task": s.task} for s in self.schedules],
            "services": sorted(self.services),
            "settings": [s.name for s in self.settings],
            "commands": sorted(self.commands),
        }


@attrs.define
class PluginInfo:
    """One plugin as listings show it."""

    name: str
    distribution: str | None
    version: str | None
    status: str  # loaded | disabled | failed
    error: str | None = None
    builtin: bool = False  # one of the host's own features
    hooks: list[str] = attrs.field(factory=list)
    contribution: Contribution = attrs.field(factory=Contribution)
    module: Any = attrs.field(default=None, repr=False)

    @property
    def label(self) -> str:
        dist = f" ({self.distribution} {self.version})" if self.distribution else ""
        return f"plugin {self.name!r}{dist}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "status": self.status,
            "error": self.error,
            "builtin": self.builtin,
            "hooks": self.hooks,
            **self.contribution.summary(),
        }


def _route_paths(handler: Any) -> tuple[str, ...]:
    """The paths a Litestar handler, controller or router serves, or an error."""
    from litestar import Controller, Router
    from litestar.handlers import BaseRouteHandler

    if isinstance(handler, BaseRouteHandler):
        return tuple(sorted(handler.paths))
    if isinstance(handler, Router):
        return (handler.path,)
    if inspect.isclass(handler) and issubclass(handler, Controller):
        return (str(vars(handler).get("path", "/")),)
    raise InvalidRegistration(
        f"routes must be Litestar route handlers, controllers or routers, got {handler!r}"
    )


class _Registrars:
    """The `register` callables handed to one plugin's hooks; they fill its Contribution."""

    def __init__(self, plugin: str, into: Contribution) -> None:
        self.plugin = plugin
        self.into = into

    def register_settings(self, setting: Setting) -> None:
        if not isinstance(setting, Setting):
            raise InvalidRegistration(f"register_settings takes a Setting, got {setting!r}")
        self.into.settings.append(setting)

    def register_queues(self, policy: QueuePolicy) -> None:
        if not isinstance(policy, QueuePolicy):
            raise InvalidRegistration(f"register_queues takes a QueuePolicy, got {policy!r}")
        self.into.queues.append(policy)

    def register_tasks(self, task: Any, *, queue: str | None = None, name: str | None = None) -> None:
        if not isinstance(task, AsyncTaskiqDecoratedTask) and callable(task) and name is None:
            name = f"{self.plugin}.{task.__name__}"
        try:
            self.into.tasks.append(TaskDef.of(adopt(task, name=name, queue=queue), self.plugin))
        except TaskDefinitionError as exc:
            raise InvalidRegistration(str(exc)) from None

    def register_middlewares(self, middleware: TaskiqMiddleware) -> None:
        if not isinstance(middleware, TaskiqMiddleware):
            raise InvalidRegistration(
                f"register_middlewares takes a taskiq TaskiqMiddleware instance, got {middleware!r}"
            )
        self.into.middlewares.append(middleware)

    def _route(self, handler: Any) -> RouteDef:
        return RouteDef(handler, _route_paths(handler), self.plugin)

    def register_routes(self, handler: Any) -> None:
        self.into.routes.append(self._route(handler))

    def register_admin_routes(self, handler: Any) -> None:
        self.into.admin_routes.append(self._route(handler))

    def register_schedules(
        self, name: str, *, cron: str, task: str, kwargs: Mapping[str, Any] | None = None
    ) -> None:
        if not isinstance(cron, str) or not croniter.is_valid(cron):
            raise InvalidRegistration(
                f"schedule {name!r}: cron must be a 5-field cron expression such as '0 3 * * *', got {cron!r}"
            )
        self.into.schedules.append(ScheduleDef(name, cron, task, dict(kwargs or {}), self.plugin))

    def register_services(self, name: str, service: Any) -> None:
        self.into.services[name] = service

    def register_migrations(self, location: Any) -> None:
        self.into.migrations.append(str(location))

    def register_cleanup(self, target: CleanupTarget) -> None:
        if not isinstance(target, CleanupTarget):
            raise InvalidRegistration(f"register_cleanup takes a CleanupTarget, got {target!r}")
        self.into.cleanup.append(target)


@attrs.define
class Registry:
    """Everything the loaded plugins registered, by name, and every plugin's record."""

    plugins: dict[str, PluginInfo] = attrs.field(factory=dict)
    queues: dict[str, QueuePolicy] = attrs.field(factory=dict)
    tasks: dict[str, TaskDef] = attrs.field(factory=dict)
    middlewares: list[TaskiqMiddleware] = attrs.field(factory=list)
    schedules: dict[str, ScheduleDef] = attrs.field(factory=dict)
    services: dict[str, Any] = attrs.field(factory=dict)
    settings: list[Setting] = attrs.field(factory=list)
    routes: list[RouteDef] = attrs.field(factory=list)
    admin_routes: list[RouteDef] = attrs.field(factory=list)
    migrations: list[str] = attrs.field(factory=list)
    cleanup: list[CleanupTarget] = attrs.field(factory=list)

    @property
    def degraded(self) -> bool:
        return any(p.status == "failed" for p in self.plugins.values())

    @property
    def failures(self) -> list[PluginInfo]:
        return [p for p in self.plugins.values() if p.status == "failed"]

    owners: dict[tuple[str, str], str] = attrs.field(factory=dict)

    def _conflicts(self, contrib: Contribution) -> str | None:
        """Why this contribution cannot join what is already accepted, if it can't."""
        for key in contrib.names():
            if key in self.owners:
                kind, name = key
                return f"{kind} {name!r} is already registered by plugin {self.owners[key]!r}"
        return None

    def accept(self, info: PluginInfo) -> None:
        contrib = info.contribution
        self.owners.update(dict.fromkeys(contrib.names(), info.name))
        self.queues.update({q.name: q for q in contrib.queues})
        self.tasks.update({t.name: t for t in contrib.tasks})
        self.middlewares.extend(contrib.middlewares)
        self.schedules.update({s.name: s for s in contrib.schedules})
        self.services.update(contrib.services)
        self.settings.extend(contrib.settings)
        self.routes.extend(contrib.routes)
        self.admin_routes.extend(contrib.admin_routes)
        self.migrations.extend(contrib.migrations)
        self.cleanup.extend(contrib.cleanup)

    def dangling(self) -> tuple[PluginInfo, str] | None:
        """The first loaded plugin whose task or schedule points at something missing."""
        for info in self.plugins.values():
            if info.status != "loaded":
                continue
            for task in info.contribution.tasks:
                if task.queue not in self.queues:
                    return info, f"task {task.name!r}: queue {task.queue!r} is not registered"
            for schedule in info.contribution.schedules:
                if schedule.task not in self.tasks:
                    return info, (f"schedule {schedule.name!r}: task {schedule.task!r} is not registered")
        return None


def _distribution(ep: importlib.metadata.EntryPoint) -> tuple[str | None, str | None]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return None, None
    return dist.metadata["Name"], dist.version


class Plugins:
    """A typed face on pluggy: host code never calls `pm.hook` directly."""

    def __init__(self, settings: Settings, extra: Iterable[tuple[str, Any]] = ()) -> None:
        self.settings = settings
        self.extra = list(extra)
        self.pm = pluggy.PluginManager(GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.registry = Registry()

    # -- discovery --------------------------------------------------------------------------

    def installed(self) -> dict[str, importlib.metadata.EntryPoint]:
        return {ep.name: ep for ep in importlib.metadata.entry_points(group=GROUP)}

    def _check_names(self, known: Iterable[str]) -> None:
        known = sorted(known)
        for var, names in (
            ("JOBHOST_LOAD_PLUGINS", self.settings.load_plugins or ()),
            ("JOBHOST_DISABLE_PLUGINS", self.settings.disable_plugins),
        ):
            unknown = [n for n in names if n not in known]
            if unknown:
                raise SettingsError(
                    f"{var}: unknown plugin {', '.join(map(repr, unknown))}; "
                    f"installed plugins are: {', '.join(known) or '(none)'}"
                )

    def _wanted(self, info: PluginInfo, listed: bool) -> bool:
        name = info.name
        if info.builtin:
            return True
        if name in self.settings.disable_plugins:
            return False
        allow = self.settings.load_plugins
        return allow is None or not listed or name in allow

    def load(self) -> Registry:
        """Import every wanted plugin, call its registration hooks, and check the whole."""
        eps = self.installed()
        builtin = {name for name, ep in eps.items() if _distribution(ep)[0] == HOST}
        self._check_names([*(n for n in eps if n not in builtin), *(name for name, _ in self.extra)])
        candidates: list[tuple[PluginInfo, Callable[[], Any], bool]] = []
        # The host's own plugins first, so every other plugin registers after them.
        for name, ep in sorted(eps.items(), key=lambda item: (item[0] not in builtin, item[0])):
            dist, version = _distribution(ep)
            info = PluginInfo(name, dist, version, "loaded", builtin=name in builtin)
            candidates.append((info, ep.load, True))
        # Plugins handed over in code (tests) skip the allow-list, not the deny-list.
        for name, obj in self.extra:
            candidates.append((PluginInfo(name, None, None, "loaded"), functools.partial(_given, obj), False))

        for info, load, listed in candidates:
            self.registry.plugins[info.name] = info
            if not self._wanted(info, listed):
                info.status = "disabled"
                continue
            try:
                info.module = _hashable(load(), info.name)
                self.pm.register(info.module, name=info.name)
                self._check_hook_names(info)
                info.hooks = sorted(hook.name for hook in self.pm.get_hookcallers(info.module) or ())
                self._collect(info)
            except Exception as exc:  # a broken plugin must not take the host down
                self.fail(info, exc, loading=True)
                continue
            reason = self.registry._conflicts(info.contribution)
            if reason:
                self.fail(info, PluginError(reason), loading=True)
            else:
                self.registry.accept(info)

        while (problem := self.registry.dangling()) is not None:
            info, reason = problem
            self.fail(info, InvalidRegistration(reason), loading=True)
            self._rebuild()
        return self.registry

    def _check_hook_names(self, info: PluginInfo) -> None:
        """A hook implementation with no such hook (a typo) fails the plugin, naming the nearest."""
        known = self._hook_names()
        for hook in self.pm.get_hookcallers(info.module) or ():
            if not hook.has_spec():
                near = difflib.get_close_matches(hook.name, known, n=1)
                hint = f"; did you mean {near[0]!r}?" if near else f"; hooks are: {', '.join(known)}"
                raise PluginError(f"implements {hook.name!r}, which is not a jobhost hook{hint}")

    def _hook_names(self) -> list[str]:
        return sorted(n for n in dir(hookspecs) if hasattr(getattr(hookspecs, n), f"{GROUP}_spec"))

    def _callers(self, hook: str, info: PluginInfo) -> list[Any]:
        """`hook` called through pluggy for this plugin alone (other plugins' wrappers around it
        kept), so every call is credited to one plugin and one plugin's failure spares the rest."""
        caller = getattr(self.pm.hook, hook)
        impls = caller.get_hookimpls()
        if not any(
            impl.plugin_name == info.name and not (impl.hookwrapper or impl.wrapper) for impl in impls
        ):
            return []
        others = {
            impl.plugin
            for impl in impls
            if impl.plugin_name != info.name and not (impl.hookwrapper or impl.wrapper)
        }
        return [self.pm.subset_hook_caller(hook, remove_plugins=others)]

    def _order(self, hook: str) -> list[PluginInfo]:
        """Loaded plugins in the order pluggy calls `hook` (tryfirst/trylast, then last registered first)."""
        names = [impl.plugin_name for impl in reversed(getattr(self.pm.hook, hook).get_hookimpls())]
        return [self.registry.plugins[n] for n in dict.fromkeys(names) if self._is_loaded(n)]

    def _is_loaded(self, name: str) -> bool:
        info = self.registry.plugins.get(name)
        return info is not None and info.status == "loaded"

    def _collect(self, info: PluginInfo) -> None:
        registrars = _Registrars(info.name, info.contribution)
        for hook in REGISTRATION_HOOKS:
            try:
                for call in self._callers(hook, info):
                    call(register=getattr(registrars, hook))
            except Exception as exc:
                raise _HookFailed(hook, exc) from exc

    def fail(
        self, info: PluginInfo, exc: BaseException, hook: str | None = None, *, loading: bool = False
    ) -> None:
        """Mark `info` failed with why (naming the hook and the file:line where it raised); in strict
        mode raise PluginError blaming the plugin. A plugin that fails `loading` registers nothing;
        one that fails later (`startup`, its migrations) is reported failed, and what it already
        registered stays in place until the host restarts."""
        if isinstance(exc, _HookFailed):
            hook, exc = exc.hook, exc.exc
        detail = f"{type(exc).__name__}: {exc}" if not isinstance(exc, PluginError) else str(exc)
        if hook is not None:
            detail = f"hook {hook} failed: {detail}{_where(exc)}"
        info.status = "failed"
        info.error = detail
        if loading:
            info.contribution = Contribution()
            if info.module is not None and self.pm.is_registered(info.module):
                self.pm.unregister(info.module)
        message = f"{info.label}: {detail}"
        if self.settings.strict_plugins:
            raise PluginError(
                f"{message} (the host stops on any plugin failure: JOBHOST_STRICT_PLUGINS=1)"
            ) from exc
        consequence = (
            "the host runs without it" if loading else "it is reported failed until the host restarts"
        )
        log.error("%s; %s", message, consequence)
        log.debug("%s: traceback", info.label, exc_info=exc)

    def _rebuild(self) -> None:
        fresh = Registry(plugins=self.registry.plugins)
        for info in self.registry.plugins.values():
            if info.status == "loaded":
                fresh.accept(info)
        self.registry = fresh

    # -- calling hooks ----------------------------------------------------------------------

    def loaded(self) -> list[PluginInfo]:
        return [p for p in self.registry.plugins.values() if p.status == "loaded"]

    async def call(self, hook: str, **kwargs: Any) -> list[tuple[PluginInfo, BaseException | None]]:
        """Call `hook` on each loaded plugin through pluggy, awaiting what an implementation returns
        (sync and async alike); a plugin raising is reported with the hook and file:line, and
        does not stop the others. Returns each plugin with its exception, if any."""
        outcomes: list[tuple[PluginInfo, BaseException | None]] = []
        for info in self._order(hook):
            error: BaseException | None = None
            try:
                await self.call_one(hook, info, **kwargs)
            except Exception as exc:
                error = exc
            outcomes.append((info, error))
        return outcomes

    async def call_one(self, hook: str, info: PluginInfo, **kwargs: Any) -> None:
        """Call `hook` on one plugin (other plugins' wrappers around it kept), awaiting what it
        returns; what it raises goes on."""
        for call in self._callers(hook, info):
            for result in call(**kwargs):
                if inspect.isawaitable(result):
                    await result

    def implements(self, hook: str, info: PluginInfo) -> bool:
        """Whether the plugin has an implementation of `hook` of its own (not only a wrapper)."""
        return bool(self._callers(hook, info))

    def add_commands(self, cli: Any) -> None:
        """Let each plugin add sub-commands to the `jobhost` click group."""
        for info in self._order("register_commands"):
            before = set(cli.commands)
            try:
                for call in self._callers("register_commands", info):
                    call(cli=cli)
            except Exception as exc:
                log.error("%s: hook register_commands failed: %s%s", info.label, exc, _where(exc))
                log.debug("%s: traceback", info.label, exc_info=exc)
            info.contribution.commands = sorted(set(cli.commands) - before)


class _HookFailed(Exception):
    """A registration hook raised (carries which hook, for the report)."""

    def __init__(self, hook: str, exc: BaseException) -> None:
        super().__init__(hook)
        self.hook, self.exc = hook, exc


def _given(plugin: Any) -> Any:
    return plugin


def _hashable(plugin: Any, name: str) -> Any:
    """pluggy tells plugins apart by hashing them; a SimpleNamespace of hook functions (handy in
    tests) is not hashable, so its functions move into a module object of their own."""
    try:
        hash(plugin)
    except TypeError:
        module = types.ModuleType(name)
        module.__dict__.update(vars(plugin))
        return module
    return plugin


_HOST_DIR = str(Path(__file__).parent)


def _where(exc: BaseException) -> str:
    """` (file.py:12)`: the plugin's line the exception came from (the innermost frame outside the
    host, e.g. the `register(...)` call a registrar refused), for a report that names the line."""
    frames = traceback.extract_tb(exc.__traceback__)
    outside = [f for f in frames if not f.filename.startswith((_HOST_DIR, "<"))] or frames
    return f" ({outside[-1].filename}:{outside[-1].lineno})" if outside else ""
