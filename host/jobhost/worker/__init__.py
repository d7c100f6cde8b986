"""The worker runtime: runs jobs of the chosen queues with their concurrency, keeps their leases
alive, publishes a heartbeat, and shuts down gracefully.

`run_worker(host, queues, stop)` is the coroutine `jobhost worker` and `jobhost run` use;
`running_worker(host)` runs one inside a test's event loop. The process runners (`serve`,
`supervise`) are in `jobhost.processes`.

Sync tasks run in daemon threads. A thread cannot be killed: when a sync task outlives its
timeout, its try is recorded as failed at once (the job retries on schedule, maybe elsewhere),
its late outcome is ignored, and its slot stays busy until the thread returns, so the worker
never runs more threads than its concurrency. Async tasks are cancelled at their timeout.
A job an operator cancels while it runs: an async task is cancelled, a sync one sees
`ctx.cancelled`; either way the job ends cancelled. The heartbeat thread keeps the worker alive
in Redis and hears of those cancels.

The worker's roles: taking and running jobs (here), the threads sync tasks run in
(worker/threads.py), writing what tasks report through their JobContext (worker/progress.py), and
leases and heartbeat (worker/liveness.py), over what it keeps of queues and tries
(worker/state.py).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import gc
import logging
import os
import socket
import threading
import traceback
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from typing import Any

from jobhost.errors import PermanentError, RetryLater
from jobhost.events import OUTBOX
from jobhost.logs import OUTAGES, failure, job_context

# `jobhost.worker.serve` is where the shared peer benchmark (bench-peers' q_jobhost.py) finds it.
from jobhost.processes import serve  # noqa: F401
from jobhost.queue import codec
from jobhost.queue.batch import Batcher
from jobhost.queue.consumer import Asking, Claim, Claimed, ClaimMode, events_json
from jobhost.queue.engine import Engine
from jobhost.queue.lane import Lane
from jobhost.queue.ticker import keep_ticking, sleep_unless
from jobhost.receiver import SUBMITTED, JobhostReceiver, TryTimedOut
from jobhost.worker.liveness import HEARTBEAT_EVERY, Liveness
from jobhost.worker.progress import ProgressWriter
from jobhost.worker.state import QueueSlots, Running
from jobhost.worker.threads import Threads

log = logging.getLogger("jobhost.worker")

PAUSED_POLL = 0.5  # how soon a paused queue's workers notice a resume
# How long cancelled tasks get to unwind after SHUTDOWN_TIMEOUT, and how much later still a worker
# process exits by force: together under the second the process may take beyond the timeout.
CANCEL_GRACE = 0.3
EXIT_GRACE = 0.8
# Successes are recorded (and their slots refilled) in calls of at most ten jobs, two calls in
# flight: such a call holds Redis for about a millisecond, so the commands of running jobs wait
# little behind it, and the worker readies the next batch while Redis runs one. One call of
# everything that finished meanwhile left both idle, by turns, a third of the time: measured
# with the peer harness, two lanes of ten drained 1.4-1.6 times as many jobs a second.
FINISH_LANES, FINISH_BATCH = 2, 10


class JobTimeout(Exception):
    """A try ran longer than its queue's timeout."""


class Worker:
    """One worker: consumes `queues` (default: every registered queue) until `run`'s stop is set."""

    def __init__(
        self,
        host: Any,
        queues: Iterable[str] | None = None,
        *,
        worker_id: str | None = None,
        heartbeat_every: float = HEARTBEAT_EVERY,
    ) -> None:
        self.host = host
        self.engine: Engine = host.engine
        names = list(queues) if queues else sorted(host.registry.queues)
        settings = host.settings
        self.queues = {}
        for name in names:
            policy = self.engine.policy(name)  # unknown queue → JobInputError naming the known ones
            q = QueueSlots(policy, settings.concurrency(policy), settings.rate_limit(policy))
            q.finishing = Batcher(
                functools.partial(self._finish, q), lanes=FINISH_LANES, max_batch=FINISH_BATCH
            )
            self.queues[name] = q
        self.id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{os.urandom(2).hex()}"
        self.started = asyncio.Event()
        self.completed = 0
        self.failed = 0
        self._stop = asyncio.Event()
        concurrency = sum(q.concurrency for q in self.queues.values())
        self.lane = Lane(concurrency)
        self._threads = Threads(concurrency)
        self.receiver = JobhostReceiver(host.broker, self._threads, concurrency)
        self.progress = ProgressWriter(self.engine, host)
        self.liveness = Liveness(
            self.id, self.engine, settings, self.queues, self._counts, self._cancel, heartbeat_every
        )

    # -- lifecycle -------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; then drain for SHUTDOWN_TIMEOUT and hand back the rest."""
        await self.engine.setup(self.queues)
        await self.liveness.start()
        consumers = [
            asyncio.create_task(self._consume(q), name=f"consume {q.name}") for q in self.queues.values()
        ]
        helpers = [
            asyncio.create_task(coro)
            for coro in (
                keep_ticking(self.engine, self._stop),
                self.liveness.renew_leases(),
                self.progress.run(),
                self.host.events.keep_relaying(self.queues, self._stop),
            )
        ]
        log.info(
            "worker %s consuming %s",
            self.id,
            ", ".join(f"{q.name}×{q.concurrency}" for q in self.queues.values()),
        )
        self.started.set()
        stop_waiter = asyncio.create_task(stop.wait())
        await asyncio.wait([stop_waiter, *consumers], return_when=asyncio.FIRST_COMPLETED)
        stop_waiter.cancel()
        self._stop.set()
        for q in self.queues.values():
            q.slot_freed.set()
        self.lane.changed()
        await asyncio.gather(*consumers, return_exceptions=True)
        await self._drain()
        try:  # what the last jobs emitted goes out now rather than with the next worker
            await self.host.events.relay(self.queues)
        except Exception as exc:
            failure(log, exc, "worker %s: relaying the last events failed; another worker will", self.id)
        for helper in helpers:
            helper.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        await self.liveness.stop()
        log.info("worker %s stopped", self.id)
        for consumer in consumers:  # a consumer that crashed stops the worker; say why
            if not consumer.cancelled() and consumer.exception() is not None:
                raise consumer.exception()  # type: ignore[misc]

    async def _drain(self) -> None:
        tasks = [r.task for q in self.queues.values() for r in q.running.values() if r.task]
        if tasks:
            timeout = self.host.settings.shutdown_timeout
            log.info("worker %s: waiting up to %gs for %d running jobs", self.id, timeout, len(tasks))
            await asyncio.wait(tasks, timeout=timeout)
        # Batches of successes on their way may bring jobs to refill their slots: hand those back too.
        await asyncio.gather(*(q.finishing.settled(CANCEL_GRACE) for q in self.queues.values()))
        for q in self.queues.values():
            for running in list(q.running.values()):
                # Hand it back first, so the cancelled task's outcome no longer counts.
                running.ending = True
                try:
                    if await self.engine.put_back(running.job):
                        log.warning(
                            "worker %s: job %s did not finish in time; put back", self.id, running.job.id
                        )
                except Exception as exc:
                    failure(
                        log,
                        exc,
                        "job %s: putting it back failed; its lease will bring it back",
                        running.job.id,
                    )
                if running.task:
                    running.task.cancel()
        leftovers = [r.task for q in self.queues.values() for r in q.running.values() if r.task]
        if leftovers:
            _, stubborn = await asyncio.wait(leftovers, timeout=CANCEL_GRACE)
            if stubborn:
                log.warning("worker %s: %d task(s) ignored cancellation; left behind", self.id, len(stubborn))

    # -- taking jobs -----------------------------------------------------------------------------

    async def _consume(self, q: QueueSlots) -> None:
        while not self._stop.is_set():
            free = q.concurrency - q.busy
            if free <= 0:
                await q.slot_freed.wait()
                q.slot_freed.clear()
                continue
            # Jobs, not slots: a thread left behind by a timed-out sync task (its try is over)
            # must not keep a suspect waiting for ever.
            mode = self.lane.mode(self._running())
            if mode is None:  # a suspect runs alone, or waits for the running jobs to end
                await self.lane.wait()
                continue
            try:
                with self.lane.claiming(mode):
                    claim = await self.engine.claim(q.name, self.id, free, q.policy.lease, q.rate, mode)
            except Exception as exc:
                wait = OUTAGES.trouble("Redis", exc, log, f"worker {self.id}: taking jobs from {q.name}")
                await sleep_unless(self._stop, wait)
                continue
            OUTAGES.recovered("Redis", log)
            self._took(q, mode, claim)
            if claim.kind in ("jobs", "drain"):
                continue  # on a drain, the lane holds the next claim until the running jobs are done
            if claim.kind == "idle":
                await self._until_stopped(self.engine.wait_for_jobs(q.name, claim.last_id))
            else:
                await sleep_unless(self._stop, PAUSED_POLL if claim.kind == "paused" else claim.wait)

    def _took(self, q: QueueSlots, mode: ClaimMode, claim: Claim) -> None:
        """Start what a claim in `mode` took (the lane hears whether it was a suspect, or a drain)."""
        suspect = any(job.suspect for job in claim.jobs)
        self.lane.claimed(mode, claim.kind == "drain", suspect)
        if suspect:
            job_id = claim.jobs[0].id
            log.info("worker %s: job %s is back from a dead worker; running it alone", self.id, job_id)
        for job in claim.jobs:
            self._start(q, job)

    def _running(self) -> int:
        return sum(len(each.running) for each in self.queues.values())

    async def _finish(self, q: QueueSlots, done: Sequence[tuple[Claimed, Any, str]]) -> list[bool]:
        """Record a batch of successes and, in the same round trip, claim as many jobs to take
        the slots they free (unless the worker stops, or the lane holds claims for a suspect)."""
        mode = None if self._stop.is_set() else self.lane.mode(self._running())
        if mode is None:
            return await self.engine.complete_many(q.name, done)
        asking = Asking(self.id, len(done), q.policy.lease, q.rate, mode)
        with self.lane.claiming(mode):
            recorded, claim = await self.engine.complete_and_claim(q.name, done, asking)
        self._took(q, mode, claim)
        return recorded

    async def _until_stopped(self, aw: Awaitable[Any]) -> None:
        waiting = asyncio.ensure_future(aw)
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait([waiting, stopping], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (waiting, stopping):
                task.cancel()
        # Read a failure even when the stop won the race, or asyncio logs it as never retrieved.
        failure = waiting.exception() if waiting.done() and not waiting.cancelled() else None
        if failure is not None:
            wait = OUTAGES.trouble("Redis", failure, log, f"worker {self.id}: waiting for jobs")
            await sleep_unless(self._stop, wait)

    def _start(self, q: QueueSlots, job: Claimed) -> None:
        q.busy += 1
        running = Running(job)
        q.running[job.id] = running
        context = job_context(job.id, q.name, job.task, job.attempt)
        running.task = asyncio.create_task(self._execute(q, running), context=context)

    # -- running one job -------------------------------------------------------------------------

    async def _execute(self, q: QueueSlots, running: Running) -> None:
        job = running.job
        stuck: asyncio.Future[Any] | None = None
        error: Exception | None = None
        try:
            running.calling = True
            OUTBOX.set(running.events)
            try:
                result = await self._call(q, running)
            except _Stuck as exc:
                stuck = exc.future  # its failure is recorded already
                return
            except asyncio.CancelledError:
                if not running.cancelled:
                    raise  # shutdown: `_drain` has put the job back
                asyncio.current_task().uncancel()  # type: ignore[union-attr]
            except Exception as exc:
                error = exc
            finally:
                running.calling = False
            await self.progress.flush(running)
            running.ending = True
            if running.cancelled:
                if await self.engine.stopped(job):
                    log.info("job %s (%s) cancelled while it ran", job.id, job.task)
            elif error is not None:
                await self._record_failure(q, job, error)
            elif await q.finishing((job, result, events_json([e.as_kwargs() for e in running.events]))):
                self.completed += 1
                if running.events:
                    self.host.events.wake.set()
            else:
                log.warning("job %s: its lease was lost before it finished; result discarded", job.id)
            if running.outcome is not None and self.receiver.saves:
                await self.receiver.saved(running.outcome)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failure(log, exc, "job %s: recording its outcome failed; its lease will bring it back", job.id)
        finally:
            q.running.pop(job.id, None)
            self.progress.forget(running)
            if stuck is not None:  # keep the slot until the stuck thread returns
                with contextlib.suppress(BaseException):
                    await stuck
            q.busy -= 1
            q.slot_freed.set()
            if job.suspect:
                self.lane.suspect_done()
            else:
                self.lane.changed()

    def _counts(self) -> dict[str, int]:
        return {"completed": self.completed, "failed": self.failed}

    def _cancel(self, job_id: str) -> None:
        """An operator cancelled a job this worker runs: an async task gets CancelledError at its
        next await; a sync one sees `ctx.cancelled` (a thread cannot be interrupted)."""
        for q in self.queues.values():
            running = q.running.get(job_id)
            if running is None or running.cancelled:
                continue
            running.cancelled = True
            if running.ctx is not None:
                running.ctx.cancel()
            task = self.host.registry.tasks.get(running.job.task)
            if running.calling and running.task and task is not None and task.is_async:
                running.task.cancel()

    async def _call(self, q: QueueSlots, running: Running) -> Any:
        """Run the task through taskiq's execution path and return its JSON-checked result."""
        job = running.job
        task = self.host.registry.tasks.get(job.task)
        if task is None:
            raise LookupError(
                f"task {job.task!r} is not registered in this worker (is its plugin installed and enabled?)"
            )
        if job.start_in:
            await asyncio.sleep(job.start_in)  # booked ahead by the rate limit; leased from then
        timeout = q.policy.timeout
        if task.needs_context:
            running.ctx = self.progress.context(running, timeout)
        submitted: list[concurrent.futures.Future[Any]] = []
        if not task.is_async:
            SUBMITTED.set(submitted)
        try:
            running.outcome = await self.receiver.execute(task, job, running.ctx, timeout)
        except TryTimedOut as exc:
            if not (submitted and not submitted[0].done()):
                raise JobTimeout(str(exc)) from None
            # The thread cannot be stopped: fail the try now; the caller holds the slot.
            q.running.pop(job.id, None)
            running.ending = True
            await self.progress.flush(running)
            await self._record_failure(q, job, JobTimeout(f"{exc} (its thread was left to finish)"))
            raise _Stuck(asyncio.wrap_future(submitted[0])) from None
        outcome = running.outcome
        if outcome.error is not None:
            raise outcome.error
        try:
            codec.check(outcome.value, "result")
        except codec.NotJSON as exc:
            raise PermanentError(f"task {job.task!r} returned a result that is not JSON: {exc}") from None
        return outcome.value

    async def _record_failure(self, q: QueueSlots, job: Claimed, exc: BaseException) -> None:
        self.failed += 1
        retry_in: float | None
        if isinstance(exc, PermanentError) or job.attempt >= job.attempts:
            retry_in = None
        elif isinstance(exc, RetryLater) and exc.delay is not None:
            retry_in = exc.delay
        else:
            retry_in = q.policy.backoff.delay_for(job.attempt)
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        trace = "".join(traceback.format_exception(exc))
        if not await self.engine.fail(job, error, trace, retry_in):
            log.warning("job %s: its lease was lost before it failed; failure discarded", job.id)
        elif retry_in is None:
            log.warning("job %s (%s) is dead after try %d: %s", job.id, job.task, job.attempt, error)
        else:
            log.info("job %s try %d failed (%s); retry in %.3gs", job.id, job.attempt, error, retry_in)


class _Stuck(Exception):
    """Carries a timed-out sync task's future out of `_call` (its failure is already recorded)."""

    def __init__(self, future: asyncio.Future[Any]) -> None:
        super().__init__("stuck")
        self.future = future


async def run_worker(host: Any, queues: Iterable[str] | None, stop: asyncio.Event, **options: Any) -> None:
    """Run one worker in this event loop until `stop` is set (then shut down gracefully).

    This owns the process: once `stop` is set, the process exits within SHUTDOWN_TIMEOUT plus a
    second, whatever its tasks do (a thread that never returns, a task that ignores cancellation,
    a hook that hangs); jobs not finished by then were handed back or come back by their lease.
    """
    worker = Worker(host, queues, **options)
    # What loading the host and its plugins made lives as long as the process: moved out of the
    # collector's sight, a full collection walks a job's garbage, not 130,000 objects (it took
    # 90-170 ms of a 20,000-job drain, 20 ms frozen).
    gc.collect()
    gc.freeze()
    watchdog = asyncio.create_task(_exit_late(stop, host.settings.shutdown_timeout + EXIT_GRACE))
    try:
        await worker.run(stop)
    finally:
        if not stop.is_set():  # the worker failed: the process is going down anyway
            watchdog.cancel()


async def _exit_late(stop: asyncio.Event, seconds: float) -> None:
    await stop.wait()

    def exit_now() -> None:
        log.warning("still running %.1fs after the stop; exiting now", seconds)
        os._exit(0)

    # A daemon thread: it outlives this event loop, and the interpreter's own exit does not wait for it.
    timer = threading.Timer(seconds, exit_now)
    timer.daemon = True
    timer.start()


@contextlib.asynccontextmanager
async def running_worker(
    host: Any, queues: Iterable[str] | None = None, **options: Any
) -> AsyncIterator[Worker]:
    """A worker running in the current event loop for the duration of the block (for tests)."""
    stop = asyncio.Event()
    worker = Worker(host, queues, **options)
    task = asyncio.create_task(worker.run(stop))
    ready = asyncio.create_task(worker.started.wait())
    await asyncio.wait([task, ready], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        ready.cancel()
        await task  # it failed to start: raise why
    try:
        yield worker
    finally:
        stop.set()
        await task
