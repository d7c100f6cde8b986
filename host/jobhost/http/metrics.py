"""Prometheus metrics on a registry of our own: HTTP requests here, queues from the engine."""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterable
from typing import Any

from litestar import Request, Response, get
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.exceptions import RedisError

from jobhost.http.admin import oldest_waiting_age
from jobhost.http.auth import bearer_token
from jobhost.http.state import app_state
from jobhost.queue.engine import Engine

# The classic text format; Litestar appends the charset.
EXPOSITION = "text/plain; version=0.0.4"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class HttpMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "jobhost_http_requests",
            "HTTP requests answered, by method, route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "jobhost_http_request_duration_seconds",
            "time to answer an HTTP request, by method and route",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def middleware(self, app: ASGIApp) -> ASGIApp:
        async def measured(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            status = [500]

            async def sending(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status[0] = message["status"]
                await send(message)

            start = time.perf_counter()
            try:
                await app(scope, receive, sending)
            finally:
                # The route's template, not the raw path: job ids must not become label values.
                route: Any = scope.get("path_template") or "unmatched"
                method = str(scope.get("method", "WEBSOCKET"))
                self.duration.labels(method, route).observe(time.perf_counter() - start)
                self.requests.labels(method, route, str(status[0])).inc()

        return measured


class _Snapshot(Collector):
    """Metric families read from Redis for one scrape (the engine keeps the counts there, shared
    by every worker process)."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


async def queue_families(engine: Engine) -> list[Metric]:
    jobs = GaugeMetricFamily(
        "jobhost_queue_jobs", "jobs of the queue in each state", labels=["queue", "state"]
    )
    paused = GaugeMetricFamily("jobhost_queue_paused", "1 when the queue is paused", labels=["queue"])
    oldest = GaugeMetricFamily(
        "jobhost_queue_oldest_waiting_seconds",
        "how long the queue's oldest waiting job has been due",
        labels=["queue"],
    )
    counters = {
        kind: CounterMetricFamily(f"jobhost_queue_{kind}", text, labels=["queue"])
        for kind, text in (
            ("completed", "jobs completed"),
            ("failed", "failed tries (each retried or dead)"),
            ("retried", "failed tries that were retried"),
            ("dead", "jobs that failed their last try"),
        )
    }
    durations = HistogramMetricFamily(
        "jobhost_job_duration_seconds", "how long tries of the queue's jobs ran", labels=["queue"]
    )
    for row in await engine.overview():
        name = row["name"]
        for state, count in row["counts"].items():
            jobs.add_metric([name, state], count)
        paused.add_metric([name], int(row["paused"]))
        totals = await engine.totals(name)
        totals["retried"] = totals["failed"] - totals["dead"]  # the last failed try is the dead one
        for kind, family in counters.items():
            family.add_metric([name], totals[kind])
        oldest.add_metric([name], await oldest_waiting_age(engine, name) or 0.0)
        buckets, total = await engine.durations(name)
        durations.add_metric(
            [name], [("+Inf" if le == float("inf") else str(le), n) for le, n in buckets], total
        )
    workers = GaugeMetricFamily("jobhost_workers", "live workers (by heartbeat)")
    workers.add_metric([], len(await engine.workers()))
    return [jobs, paused, oldest, *counters.values(), durations, workers]


async def metrics_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """With JOBHOST_METRICS_TOKEN set, /metrics answers only to its bearer."""
    expected = app_state(connection).config.metrics_token
    if expected is None:
        return
    given = bearer_token(connection) or ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise NotAuthorizedException(
            detail="/metrics needs `Authorization: Bearer <JOBHOST_METRICS_TOKEN>`",
            headers={"WWW-Authenticate": "Bearer"},
        )


@get(
    "/metrics",
    tags=["health"],
    summary="Prometheus metrics (a bearer token when JOBHOST_METRICS_TOKEN is set)",
    media_type=EXPOSITION,
    guards=[metrics_guard],
    raises=[NotAuthorizedException],
)
async def metrics_route(request: Request[Any, Any, Any]) -> Response[bytes]:
    state = app_state(request)
    up = GaugeMetricFamily("jobhost_redis_up", "1 when the queue metrics could be read from Redis")
    try:
        families = await queue_families(state.host.engine)
        up.add_metric([], 1)
    except (RedisError, OSError):  # a scrape still gets the HTTP metrics and the outage
        families = []
        up.add_metric([], 0)
    snapshot = CollectorRegistry()
    snapshot.register(_Snapshot([up, *families]))
    body = generate_latest(request.app.state.metrics.registry) + generate_latest(snapshot)
    return Response(body, media_type=EXPOSITION)
