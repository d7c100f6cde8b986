import pytest

from jobhost import Backoff, PolicyError, QueuePolicy, RateLimit, Retention


def test_exponential_backoff_follows_bullmq():
    backoff = Backoff.exponential(5)
    assert [backoff.delay_for(n) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]


def test_backoff_cap_and_fixed():
    assert Backoff.exponential(5, max_delay=12).delay_for(3) == 12
    assert [Backoff.fixed(7).delay_for(n) for n in (1, 2, 5)] == [7, 7, 7]


def test_jitter_only_shortens_within_its_share():
    backoff = Backoff.exponential(10, jitter=0.5)
    assert backoff.delay_for(2, rand=lambda: 0.0) == 20
    assert backoff.delay_for(2, rand=lambda: 1.0) == 10
    assert 10 <= backoff.delay_for(2) <= 20


def test_seed_queue_defaults_are_accepted():
    policy = QueuePolicy(
        "email-sending",
        attempts=5,
        backoff=Backoff.exponential(10),
        concurrency=10,
        concurrency_env="EMAIL_WORKER_CONCURRENCY",
    )
    assert policy.as_dict()["backoff"] == {
        "kind": "exponential",
        "delay": 10,
        "max_delay": None,
        "jitter": 0.0,
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"attempts": 0}, "queue 'q': attempts must be >= 1, got 0"),
        ({"attempts": 1.5}, "queue 'q': attempts must be >= 1, got 1.5"),
        (
            {"backoff": Backoff("linear", 1)},
            "queue 'q': backoff.kind must be 'fixed' or 'exponential', got 'linear'",
        ),
        ({"backoff": Backoff.exponential(-1)}, "queue 'q': backoff.delay must be >= 0 seconds, got -1"),
        (
            {"backoff": Backoff.exponential(1, max_delay=0)},
            "queue 'q': backoff.max_delay must be > 0 seconds or None, got 0",
        ),
        (
            {"backoff": Backoff.exponential(1, jitter=2)},
            "queue 'q': backoff.jitter must be between 0 and 1, got 2",
        ),
        ({"concurrency": 0}, "queue 'q': concurrency must be >= 1, got 0"),
        (
            {"concurrency_env": "lower"},
            "queue 'q': concurrency_env must be an upper-case environment variable name or None, got 'lower'",
        ),
        ({"timeout": 0}, "queue 'q': timeout must be > 0 seconds or None, got 0"),
        ({"lease": 0.5}, "queue 'q': lease must be >= 1 second, got 0.5"),
        (
            {"keep_completed": Retention(age=0, count=5)},
            "queue 'q': keep_completed.age must be > 0 seconds, got 0",
        ),
        (
            {"keep_completed": Retention(age=5, count=-1)},
            "queue 'q': keep_completed.count must be >= 0, got -1",
        ),
        ({"keep_dead": Retention(age=-3, count=5)}, "queue 'q': keep_dead.age must be > 0 seconds, got -3"),
        ({"keep_dead": Retention(age=3, count=-5)}, "queue 'q': keep_dead.count must be >= 0, got -5"),
        (
            {"rate_limit_env": "x"},
            "queue 'q': rate_limit_env must be an upper-case environment variable name or None, got 'x'",
        ),
        ({"rate_limit": "10/s"}, "queue 'q': rate_limit must be a RateLimit or None, got '10/s'"),
    ],
)
def test_every_rule_names_queue_field_value_and_rule(kwargs, message):
    with pytest.raises(PolicyError) as info:
        QueuePolicy("q", **kwargs)
    assert str(info.value) == message


@pytest.mark.parametrize("name", ["", "Upper", "has space", "{slot}", "-lead", "x" * 65])
def test_queue_names_are_safe_for_redis_keys(name):
    with pytest.raises(PolicyError, match="queue: name must be 1-64 characters"):
        QueuePolicy(name)


@pytest.mark.parametrize(
    ("text", "count", "per"),
    [("10/s", 10, 1), ("600/min", 600, 60), ("100/10s", 100, 10), ("5000/h", 5000, 3600)],
)
def test_rate_limit_parse(text, count, per):
    assert RateLimit.parse(text) == RateLimit(count, per)


@pytest.mark.parametrize("text", ["fast", "0/s", "10/fortnight", "/s"])
def test_rate_limit_parse_rejects(text):
    with pytest.raises(ValueError, match="rate limit must look like '10/s'"):
        RateLimit.parse(text)


def test_search_fields_must_be_top_level_kwargs_names():
    assert QueuePolicy("q", search_fields=("flyer_id", "email")).search_fields == ("flyer_id", "email")
    for bad in (("flyer id",), ("task",), ["email"], ("a.b",)):
        with pytest.raises(PolicyError, match="search_fields must be a tuple"):
            QueuePolicy("q", search_fields=bad)
