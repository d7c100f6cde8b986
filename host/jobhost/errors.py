"""Errors a task raises to steer what happens to its job."""

from __future__ import annotations


class JobError(Exception):
    """Base of the errors that steer a job's retries."""


class PermanentError(JobError):
    """The job cannot succeed (a corrupt upload, a refused recipient): no more tries, dead now."""


class RetryLater(JobError):
    """This try failed for a passing reason; retry after `delay` seconds instead of the backoff.

    With `delay=None` the queue's backoff decides. Either way the try counts against `attempts`.
    """

    def __init__(self, message: str = "", *, delay: float | None = None) -> None:
        super().__init__(message)
        self.delay = delay


class ServiceUnavailable(RuntimeError):
    """A service another plugin offers is not there (its plugin is disabled or failed)."""


class JobFailed(Exception):
    """What `wait_result()` reports for a job that ended dead or cancelled: its state and last error."""
