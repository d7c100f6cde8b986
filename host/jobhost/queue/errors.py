"""What the engine says when a request about a job cannot be done."""

from __future__ import annotations


class JobInputError(ValueError):
    """A task name, its arguments or a time is wrong; the message names the task and the field."""


class JobNotFound(LookupError):
    """No job has this id (never existed, removed, or trimmed by retention)."""


class JobStateError(ValueError):
    """The job is in a state that does not allow the action (e.g. retrying an active job)."""
