"""A flow: a job and the jobs it needs first (its children, each a flow), across queues."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

# A flow is stored in one transaction: keep it to a size one call can carry.
MAX_FLOW_JOBS = 1000


@attrs.frozen
class Flow:
    """`Engine.enqueue_flow(Flow("report.build", children=[Flow("a.fetch"), Flow("b.fetch")]))`:
    the children run first (in any order, in parallel), the parent once all have completed, and
    reads their results with `ctx.dependency_results()`."""

    task: str
    kwargs: dict[str, Any] = attrs.field(factory=dict)
    children: Sequence[Flow] = ()
    owner: str | None = None
    priority: int = 0
    on_dependency_failure: str = "fail"

    def size(self) -> int:
        return 1 + sum(child.size() for child in self.children)
