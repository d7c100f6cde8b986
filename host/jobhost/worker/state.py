"""What a worker keeps of each queue it consumes and of each try it runs."""

from __future__ import annotations

import asyncio
from typing import Any

import attrs

from jobhost.events import Event
from jobhost.policy import QueuePolicy, RateLimit
from jobhost.queue.batch import Batcher
from jobhost.queue.consumer import Claimed
from jobhost.queue.context import JobContext
from jobhost.receiver import Outcome


@attrs.define(eq=False)
class Running:
    job: Claimed
    ctx: JobContext | None = None
    task: asyncio.Task[None] | None = None
    flushing: asyncio.Lock | None = None
    calling: bool = False  # the task function runs (an operator's cancel may interrupt it)
    ending: bool = False  # its outcome is being recorded (a renewal racing it loses nothing)
    cancelled: bool = False  # an operator cancelled the job
    outcome: Outcome | None = None  # how the try ended (and for post_save, taskiq's view of it)
    events: list[Event] = attrs.field(factory=list)  # emitted by the try, sent if it completes


@attrs.define(eq=False)
class QueueSlots:
    policy: QueuePolicy
    concurrency: int
    rate: RateLimit | None
    busy: int = 0
    running: dict[str, Running] = attrs.field(factory=dict)
    slot_freed: asyncio.Event = attrs.field(factory=asyncio.Event)
    # The queue's successes, recorded in batches that claim the next jobs (Worker._finish).
    finishing: Batcher[tuple[Claimed, Any, str], bool] = attrs.field(init=False)

    @property
    def name(self) -> str:
        return self.policy.name
