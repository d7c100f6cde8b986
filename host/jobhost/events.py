"""Durable events: what `host.emit` announces reaches each plugin that handles events as a job.

A plugin subscribes by implementing `handle_event`; the host gives it a queue `events.<plugin>`
with one delivery task, so a handler that raises is retried with that queue's backoff and ends
in its dead set, like any job. An event emitted while a job runs is held with the try: the
engine's completion script writes the try's events into its queue's outbox in the same atomic
step that marks the job completed (a failed try's events go with it), and the relay then
enqueues one delivery per subscriber. An event emitted outside a job (an HTTP route) is enqueued
at once. A delivery's job id is derived from the event id, so a relay repeated after a crash
answers the delivery already there; the handler gets the event id (`event.id`, the same on every
try) to make its effects idempotent. Deliveries are at least once.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
import re
import secrets
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs
from taskiq import TaskiqDepends

from jobhost.logs import OUTAGES
from jobhost.plugins import PluginInfo, Plugins, TaskDef
from jobhost.policy import Backoff, QueuePolicy
from jobhost.queue import codec
from jobhost.queue.context import JobContext
from jobhost.queue.ticker import TICK_EVERY, sleep_unless
from jobhost.task import task

if TYPE_CHECKING:
    from jobhost.queue.engine import Engine

log = logging.getLogger("jobhost.events")

HOOK = "handle_event"
QUEUE_PREFIX = "events."
# Every events queue: a handler that fails waits 5 s, 10 s, ... up to 15 min, for about 40 min
# in all, before its delivery lands in the dead set.
ATTEMPTS = 10
BACKOFF = Backoff.exponential(5, max_delay=900)
CONCURRENCY = 5
RELAY_BATCH = 100

# The events a running try emitted, written with its completion (set by the worker per try).
OUTBOX: contextvars.ContextVar[list[Event] | None] = contextvars.ContextVar("jobhost_outbox", default=None)


@attrs.frozen
class Event:
    """Something a plugin announces to the others, e.g. `flyer.processed`; `data` is JSON-ready.

    `id` names this event on every delivery try: a handler keys what it does on it, so a
    delivery run twice (at least once is the promise) has its effect once."""

    name: str
    data: dict[str, Any]
    source: str | None = None
    id: str = ""

    def as_kwargs(self) -> dict[str, Any]:
        return {"event_id": self.id, "name": self.name, "data": self.data, "source": self.source}


def queue_name(plugin: str) -> str:
    """The events queue of a plugin (its name as queue names allow it)."""
    return QUEUE_PREFIX + re.sub(r"[^a-z0-9._-]", "-", plugin.lower())[:57]


def delivery_id(queue: str, event_id: str) -> str:
    return f"{queue}:{hashlib.sha256(event_id.encode()).hexdigest()[:32]}"


def subscribe(plugins: Plugins) -> None:
    """Give every loaded plugin that implements `handle_event` its events queue and delivery task
    (credited to it, so `jobhost plugins` lists them with the plugin's own)."""
    registry = plugins.registry
    for info in plugins.loaded():
        if not plugins.implements(HOOK, info):
            continue
        queue = queue_name(info.name)
        policy = QueuePolicy(
            queue,
            attempts=ATTEMPTS,
            backoff=BACKOFF,
            concurrency=CONCURRENCY,
            search_fields=("event_id", "name"),
            description=f"deliveries of events to plugin {info.name!r} (handle_event)",
        )
        delivery = TaskDef.of(task(f"{info.name}.{HOOK}", queue=queue)(_deliverer(plugins, info)), info.name)
        info.contribution.queues.append(policy)
        info.contribution.tasks.append(delivery)
        registry.queues[queue] = policy
        registry.tasks[delivery.name] = delivery
        registry.owners[("queue", queue)] = registry.owners[("task", delivery.name)] = info.name


def _deliverer(plugins: Plugins, info: PluginInfo) -> Any:
    async def deliver(
        event_id: str,
        name: str,
        data: dict[str, Any],
        source: str | None = None,
        ctx: JobContext = TaskiqDepends(),
    ) -> None:
        """Hand one event to the plugin's `handle_event`; what it raises fails the try."""
        await plugins.call_one(HOOK, info, event=Event(name, data, source, event_id), host=ctx.host)

    return deliver


class Events:
    """Emitting events and relaying the ones completed jobs left in their queues' outboxes."""

    def __init__(self, plugins: Plugins, engine: Engine) -> None:
        self.plugins = plugins
        self.engine = engine
        self.wake = asyncio.Event()  # a try completed with events: relay now rather than later

    def subscribers(self) -> list[TaskDef]:
        """The delivery task of every loaded plugin that handles events."""
        tasks = self.plugins.registry.tasks
        return [tasks[name] for info in self.plugins.loaded() if (name := f"{info.name}.{HOOK}") in tasks]

    @staticmethod
    def event(name: str, data: dict[str, Any], source: str | None = None) -> Event:
        """A new event, its data checked to be a JSON-ready dict."""
        if not isinstance(data, dict):
            raise TypeError(f"event {name!r}: data must be a dict, got {type(data).__name__}")
        codec.check(data, f"event {name!r} data")
        return Event(name, data, source, secrets.token_hex(16))

    async def emit(self, name: str, data: dict[str, Any], source: str | None = None) -> Event:
        """Inside a try: held with it, and queued when the job completes. Outside: queued now."""
        event = self.event(name, data, source)
        held = OUTBOX.get()
        if held is not None:
            held.append(event)
        else:
            await self.deliver([event.as_kwargs()])
        return event

    async def deliver(self, events: Iterable[dict[str, Any]]) -> None:
        """Enqueue each event's delivery to each subscriber (one already there is left as it is)."""
        subscribers = self.subscribers()
        for event in events:
            for delivery in subscribers:
                await self.engine.enqueue(
                    delivery.name, event, job_id=delivery_id(delivery.queue, event["event_id"])
                )

    async def relay(self, queues: Iterable[str]) -> int:
        """Fan out what completed tries of these queues left in their outboxes; how many tries'."""
        relayed = 0
        for queue, entry_id, events in await self.engine.outbox(queues, RELAY_BATCH):
            await self.deliver(codec.loads(events))
            await self.engine.outbox_done(queue, entry_id)
            relayed += 1
        return relayed

    async def keep_relaying(self, queues: Iterable[str], stop: asyncio.Event) -> None:
        """Relay until `stop` is set: at once when woken, else every TICK_EVERY (what a worker
        killed between completing a job and relaying its events left)."""
        names = list(queues)
        while not stop.is_set():
            self.wake.clear()
            try:
                if await self.relay(names) >= RELAY_BATCH:
                    continue
            except Exception as exc:
                await sleep_unless(stop, OUTAGES.trouble("Redis", exc, log, "relaying events"))
                continue
            OUTAGES.recovered("Redis", log)
            waits = [asyncio.ensure_future(self.wake.wait()), asyncio.ensure_future(stop.wait())]
            try:
                await asyncio.wait(waits, timeout=TICK_EVERY, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()
