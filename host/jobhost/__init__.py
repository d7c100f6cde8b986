"""jobhost: a plugin-based background-job host.

This module is the whole API for plugin authors; everything else in the package is private to
the host and may change. See docs/plugin-authors.md and docs/hooks.md.
"""

from __future__ import annotations

from jobhost.commands import pass_host
from jobhost.errors import JobError, JobFailed, PermanentError, RetryLater, ServiceUnavailable
from jobhost.events import Event
from jobhost.hookspecs import (
    RegisterCleanup,
    RegisterMiddleware,
    RegisterMigrations,
    RegisterQueue,
    RegisterRoute,
    RegisterSchedule,
    RegisterService,
    RegisterSetting,
    RegisterTask,
    hookimpl,
)
from jobhost.host import Host, connect
from jobhost.policy import Backoff, PolicyError, QueuePolicy, RateLimit, Retention
from jobhost.queue.context import JobContext
from jobhost.queue.errors import EnqueueIncomplete, JobInputError, OutcomeUnknown
from jobhost.queue.flow import Flow
from jobhost.queue.history import QueueDay
from jobhost.settings import Setting, parse_bool, parse_duration, parse_positive_int
from jobhost.store.blobs import BlobError, BlobInfo, BlobNotFound, Blobs
from jobhost.store.user import User
from jobhost.sweeps import CleanupTarget
from jobhost.task import JobhostTask, NoHostRunning, task

__all__ = [
    "Backoff",
    "BlobError",
    "BlobInfo",
    "BlobNotFound",
    "Blobs",
    "CleanupTarget",
    "EnqueueIncomplete",
    "Event",
    "Flow",
    "Host",
    "JobContext",
    "JobError",
    "JobFailed",
    "JobInputError",
    "JobhostTask",
    "NoHostRunning",
    "OutcomeUnknown",
    "PermanentError",
    "PolicyError",
    "QueueDay",
    "QueuePolicy",
    "RateLimit",
    "RegisterCleanup",
    "RegisterMiddleware",
    "RegisterMigrations",
    "RegisterQueue",
    "RegisterRoute",
    "RegisterSchedule",
    "RegisterService",
    "RegisterSetting",
    "RegisterTask",
    "Retention",
    "RetryLater",
    "ServiceUnavailable",
    "Setting",
    "User",
    "connect",
    "hookimpl",
    "parse_bool",
    "parse_duration",
    "parse_positive_int",
    "pass_host",
    "task",
]
