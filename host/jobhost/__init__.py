"""jobhost: a plugin-based background-job host.

This module is the whole API for plugin authors; everything else in the package is private to
the host and may change. See docs/plugin-authors.md and docs/hooks.md.
"""

from __future__ import annotations

import pluggy

from jobhost.errors import JobError, PermanentError, RetryLater, ServiceUnavailable
from jobhost.host import Event, Host
from jobhost.policy import Backoff, PolicyError, QueuePolicy, RateLimit, Retention
from jobhost.queue.context import JobContext
from jobhost.settings import Setting, parse_bool, parse_duration, parse_positive_int
from jobhost.store.user import User

hookimpl = pluggy.HookimplMarker("jobhost")

__all__ = [
    "Backoff",
    "Event",
    "Host",
    "JobContext",
    "JobError",
    "PermanentError",
    "PolicyError",
    "QueuePolicy",
    "RateLimit",
    "Retention",
    "RetryLater",
    "ServiceUnavailable",
    "Setting",
    "User",
    "hookimpl",
    "parse_bool",
    "parse_duration",
    "parse_positive_int",
]
