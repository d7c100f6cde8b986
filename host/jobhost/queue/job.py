"""The job record as readers see it: one immutable snapshot of a job's hash in Redis."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from jobhost.queue import codec

TERMINAL = frozenset({"completed", "dead", "cancelled"})


def _time(ms: str | None) -> datetime | None:
    return datetime.fromtimestamp(int(ms) / 1000, UTC) if ms else None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


@attrs.frozen
class JobFailure:
    """One failed try: what went wrong, where, and when."""

    attempt: int
    error: str
    traceback: str | None
    at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "attempt": self.attempt,
            "error": self.error,
            "traceback": self.traceback,
            "at": _iso(self.at),
        }


@attrs.frozen
class Job:
    """A job: its task and arguments, where it stands, and what every try left behind.

    `attempt` counts the tries started so far (deliveries to a worker), `attempts` the most it
    gets. `run_at` is when a waiting or delayed job is (or was) due; `priority` 0 is none (first),
    else lower runs sooner. `cancelling`: an operator cancelled it while it runs. `depends_on`:
    the jobs it waits for; `dependents`: the jobs waiting for it. `logs` is filled by
    `Engine.job()` only; listings leave it empty.
    """

    id: str
    queue: str
    task: str
    kwargs: dict[str, Any]
    state: str
    attempt: int
    attempts: int
    progress: dict[str, Any] | None = None
    result: Any = None
    errors: tuple[JobFailure, ...] = ()
    logs: tuple[str, ...] = ()
    owner: str | None = None
    labels: dict[str, Any] = attrs.field(factory=dict)
    worker: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    run_at: datetime | None = None
    priority: int = 0
    cancelling: bool = False
    depends_on: tuple[str, ...] = ()
    dependents: tuple[str, ...] = ()
    origin: str | None = None  # the job this one duplicates or replays

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL

    @classmethod
    def from_hash(cls, data: Mapping[str, str], logs: tuple[str, ...] = ()) -> Job:
        errors = []
        for n in range(1, int(data.get("nerr") or 0) + 1):
            raw = codec.loads(data[f"e{n}"])
            at = _time(raw["at"])
            assert at is not None  # every failure is stamped
            errors.append(JobFailure(raw["attempt"], raw["error"], raw.get("traceback"), at))
        return cls(
            id=data["id"],
            queue=data["id"].partition(":")[0],
            task=data["task"],
            kwargs=codec.loads(data["kwargs"]),
            state=data["state"],
            attempt=int(data["attempt"]),
            attempts=int(data["attempts"]),
            progress=codec.loads(data["progress"]) if data.get("progress") else None,
            result=codec.loads(data["result"]) if "result" in data else None,
            errors=tuple(errors),
            logs=logs,
            owner=data.get("owner") or None,
            labels=codec.loads(data["labels"]) if data.get("labels") else {},
            worker=data.get("worker") or None,
            created_at=_time(data.get("created")),
            started_at=_time(data.get("started")),
            finished_at=_time(data.get("finished")),
            run_at=_time(data.get("run_at")),
            priority=int(data.get("priority") or 0),
            cancelling=bool(data.get("cancel")) and data["state"] == "active",
            depends_on=tuple(codec.loads(data["deps"])) if data.get("deps") else (),
            dependents=tuple(codec.loads(data["dependents"])) if data.get("dependents") else (),
            origin=data.get("origin") or None,
        )

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view, as the HTTP API and the CLI show it."""
        return {
            "id": self.id,
            "queue": self.queue,
            "task": self.task,
            "kwargs": self.kwargs,
            "state": self.state,
            "attempt": self.attempt,
            "attempts": self.attempts,
            "progress": self.progress,
            "result": self.result,
            "errors": [e.as_dict() for e in self.errors],
            "logs": list(self.logs),
            "owner": self.owner,
            "labels": self.labels,
            "worker": self.worker,
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "run_at": _iso(self.run_at),
            "priority": self.priority,
            "cancelling": self.cancelling,
            "depends_on": list(self.depends_on),
            "dependents": list(self.dependents),
            "origin": self.origin,
        }
