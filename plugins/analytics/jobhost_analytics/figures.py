"""A report's figures (version 2): flyers, prices, stores, deals, queues, days and mail, as JSON.

Plain functions over what the report job gathered (flyer facts, the upload count, each queue's
days from `host.queue_history`, the mail ledger's counts); docs/operators.md documents the shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jobhost import QueueDay
from jobhost_analytics.summary import Summary

VERSION = 2
# The flyer plugin's queue: its failed tries and dead jobs are the report's failed and dead flyers.
FLYER_QUEUE = "flyer-processing"


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def queue_figures(total: QueueDay) -> dict[str, Any]:
    """One queue's figures over the period: counts, and try durations in ms."""
    return {
        "queue": total.queue,
        "completed": total.completed,
        "failed": total.failed,
        "retried": total.retried,
        "dead": total.dead,
        "tries": total.tries,
        "mean_ms": _ms(total.sum_ms / total.tries) if total.tries else None,
        "p50_ms": _ms(total.percentile_ms(0.50)),
        "p95_ms": _ms(total.percentile_ms(0.95)),
        "max_ms": total.max_ms,
    }


def figures(
    summary: Summary,
    uploaded: int,
    queues: Mapping[str, Sequence[QueueDay]],
    emails: Mapping[str, int] | None,
) -> dict[str, Any]:
    """The report's figures; `queues` maps each queue to its days in the period, oldest first."""
    totals = {
        name: QueueDay.sum(name, days[0].first, len(days), days) for name, days in queues.items() if days
    }
    flyer_queue = totals.get(FLYER_QUEUE)
    facts = summary.as_dict()
    first = next(iter(queues.values()), ())
    return {
        "version": VERSION,
        "flyers": {
            "uploaded": uploaded,
            "processed": summary.flyers,
            "failed": flyer_queue.failed if flyer_queue else 0,
            "dead": flyer_queue.dead if flyer_queue else 0,
            "pages": summary.pages,
            "items": summary.items,
            "priced_items": summary.priced_items,
            "uploaders": summary.uploaders,
        },
        "prices": {name: facts[f"{name}_price"] for name in ("average", "median", "min", "max")},
        "stores": facts["stores"],
        "deals": summary.deals_dict(),
        "queues": [queue_figures(totals[name]) for name in sorted(totals)],
        "days": [
            {
                "day": day.first.isoformat(),
                "queues": {
                    name: {k: getattr(days[n], k) for k in ("completed", "failed", "retried", "dead")}
                    for name, days in sorted(queues.items())
                },
            }
            for n, day in enumerate(first)
        ],
        "emails": None if emails is None else dict(emails),
    }
