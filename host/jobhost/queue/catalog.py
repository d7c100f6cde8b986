"""What the engine needs to know of the registered queues and tasks, and nothing of how plugins
registered them (the host's plugin registry is one such catalog)."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Protocol

from jobhost.policy import QueuePolicy


class TaskSpec(Protocol):
    """A task as the engine sees it: its name, queue, the plugin to blame, and the parameters a
    job's kwargs fill."""

    @property
    def name(self) -> str: ...

    @property
    def queue(self) -> str: ...

    @property
    def plugin(self) -> str: ...

    @property
    def signature(self) -> inspect.Signature: ...


class Catalog(Protocol):
    @property
    def queues(self) -> Mapping[str, QueuePolicy]: ...

    @property
    def tasks(self) -> Mapping[str, TaskSpec]: ...

    @property
    def owners(self) -> Mapping[tuple[str, str], str]: ...
