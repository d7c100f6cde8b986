"""The queue engine (host-internal): Redis streams with leases, retries, dead set, job registry.

Plugins never import this package; they get `JobContext` from `jobhost` and reach jobs through
`host.enqueue()` / `host.job()`.
"""

from jobhost.queue.consumer import Claim, Claimed
from jobhost.queue.context import JobContext
from jobhost.queue.engine import Engine
from jobhost.queue.errors import JobInputError, JobNotFound, JobStateError
from jobhost.queue.flow import Flow
from jobhost.queue.inspector import JobPage
from jobhost.queue.job import Job, JobFailure

__all__ = [
    "Claim",
    "Claimed",
    "Engine",
    "Flow",
    "Job",
    "JobContext",
    "JobFailure",
    "JobInputError",
    "JobNotFound",
    "JobPage",
    "JobStateError",
]
