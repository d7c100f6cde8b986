"""The queue engine: every read and write of queues and jobs in Redis, for one host.

One Lua script per state change (enqueue, claim, complete, fail, put back, renew, tick, admin),
so a transition is atomic and costs one round trip. Workers, the scheduler, the HTTP face and the
CLI all go through the engine; none of them touches Redis keys directly.

The engine is its four roles over one store (queue/store.py: connection, keys, scripts): the
producer enqueues, the consumer is the worker's side, the inspector reads, the admin holds the
operator actions. Their methods are the engine's, under the same names.
"""

from __future__ import annotations

from jobhost.queue.admin import Admin
from jobhost.queue.catalog import Catalog
from jobhost.queue.consumer import Consumer
from jobhost.queue.inspector import Inspector
from jobhost.queue.producer import Producer
from jobhost.queue.store import Store
from jobhost.settings import Settings


class Engine:
    """Queues and jobs of one host, on Redis (or the embedded in-process store)."""

    def __init__(self, settings: Settings, registry: Catalog) -> None:
        self.settings = settings
        self.registry = registry

        store = self.store = Store(settings, registry)
        self.redis = store.redis
        self.keys = store.keys
        self.scripts = store.scripts
        self.schedules = store.schedules
        self.close = store.close
        self.setup = store.setup
        self.policy = store.policy
        self.task = store.task

        inspector = self.inspector = Inspector(store)
        self.job = inspector.job
        self.job_state = inspector.job_state
        self.dependency_results = inspector.dependency_results
        self.list_jobs = inspector.list_jobs
        self.counts = inspector.counts
        self.overview = inspector.overview
        self.is_paused = inspector.is_paused
        self.rates = inspector.rates
        self.throughput = inspector.throughput
        self.totals = inspector.totals
        self.durations = inspector.durations
        self.days = inspector.days
        self.workers = inspector.workers
        self.last_fires = inspector.last_fires
        self.search = inspector.search
        self.follow = inspector.follow
        self.feed_head = inspector.feed_head
        self.history = inspector.history
        self.events = inspector.events
        self.wait = inspector.wait

        producer = self.producer = Producer(store, inspector)
        self.enqueue = producer.enqueue
        self.enqueue_once = producer.enqueue_once
        self.enqueue_many = producer.enqueue_many
        self.enqueue_flow = producer.enqueue_flow

        consumer = self.consumer = Consumer(store)
        self.claim = consumer.claim
        self.wait_for_jobs = consumer.wait_for_jobs
        self.complete = consumer.complete
        self.complete_many = consumer.complete_many
        self.complete_and_claim = consumer.complete_and_claim
        self.outbox = consumer.outbox
        self.outbox_done = consumer.outbox_done
        self.fail = consumer.fail
        self.put_back = consumer.put_back
        self.stopped = consumer.stopped
        self.renew = consumer.renew
        self.write_progress = consumer.write_progress
        self.tick = consumer.tick
        self.forget_worker = consumer.forget_worker

        admin = self.admin = Admin(store, inspector)
        self.retry = admin.retry
        self.replay = admin.replay
        self.cancel = admin.cancel
        self.remove = admin.remove
        self.clean = admin.clean
        self.pause = admin.pause
        self.resume = admin.resume
