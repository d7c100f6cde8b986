"""The HTTP face's settings, read from the environment like every other setting."""

from __future__ import annotations

import attrs

from jobhost.policy import RateLimit
from jobhost.settings import Setting, Settings, parse_duration, parse_names, parse_positive_int

_SIZE_UNITS = {"k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(text: str) -> int:
    """`1048576`, `512k`, `25M` or `1G`, as bytes."""
    stripped = text.strip().lower().removesuffix("b")
    factor = _SIZE_UNITS.get(stripped[-1:], 1)
    number = stripped[:-1] if factor > 1 else stripped
    value = int(float(number) * factor)
    if value < 1:
        raise ValueError("must be a size >= 1 byte, such as 500000, 512k or 25M")
    return value


MAX_BODY_SIZE = Setting(
    "JOBHOST_MAX_BODY_SIZE",
    25 * 1024**2,
    parse_size,
    help="largest request body the API accepts, uploads included (default 25M)",
    allowed="must be a size such as 500000, 512k or 25M",
)
SESSION_TTL = Setting(
    "JOBHOST_SESSION_TTL",
    7 * 86400.0,
    parse_duration,
    help="how long a login token lasts (default 7d)",
    allowed="must be a duration of at most 100 years, such as 12h or 7d",
)
LOGIN_ACCOUNT_LIMIT = Setting(
    "JOBHOST_LOGIN_ACCOUNT_LIMIT",
    RateLimit(5, 60),
    RateLimit.parse,
    help="login attempts allowed per account from one client address (default 5/min): a stranger "
    "elsewhere cannot lock the owner out",
)
LOGIN_ADDRESS_LIMIT = Setting(
    "JOBHOST_LOGIN_ADDRESS_LIMIT",
    RateLimit(20, 60),
    RateLimit.parse,
    help="login and password-reset attempts allowed per client address (default 20/min)",
)
LOGIN_BUDGET = Setting(
    "JOBHOST_LOGIN_BUDGET",
    RateLimit(10, 1),
    RateLimit.parse,
    help="password checks (scrypt, 128 MiB and ~0.3 s each) the deployment does, all clients "
    "together (default 10/s); logins beyond get 429",
)
TRUSTED_PROXIES = Setting(
    "JOBHOST_TRUSTED_PROXIES",
    (),
    parse_names,
    help="comma-separated addresses or networks (10.0.0.0/8) of proxies whose X-Forwarded-For "
    "names the client; default none: the connection's own address counts",
)
RESET_URL = Setting(
    "JOBHOST_PASSWORD_RESET_URL",
    None,
    str,
    help="link put in password-reset mails, `{token}` replaced by the token; unset = the token alone",
)
SSE_HEARTBEAT = Setting(
    "JOBHOST_SSE_HEARTBEAT",
    15.0,
    parse_duration,
    help="seconds between heartbeat comments on a quiet job event stream (default 15; 0 = none)",
    allowed="must be a duration such as 500ms or 15",
)
HEADER_TIMEOUT = Setting(
    "JOBHOST_HTTP_HEADER_TIMEOUT",
    10.0,
    parse_duration,
    help="a connection whose request line and headers have not all arrived this long after it "
    "opened (or after its previous answer) is closed (default 10s)",
    allowed="must be a duration such as 10 or 500ms",
)
BODY_TIMEOUT = Setting(
    "JOBHOST_HTTP_BODY_TIMEOUT",
    60.0,
    parse_duration,
    help="a request body not complete this long after the server starts reading it gets 408 (default 60s)",
    allowed="must be a duration such as 60 or 2m",
)
CONNECTIONS = Setting(
    "JOBHOST_HTTP_CONNECTIONS",
    4096,
    parse_positive_int,
    help="connections one API process serves at once (uvicorn's limit_concurrency); requests "
    "beyond get 503 (default 4096, room for JOBHOST_SSE_STREAMS)",
    allowed="must be a whole number >= 1",
)
RESET_ANSWER_TIME = Setting(
    "JOBHOST_PASSWORD_RESET_ANSWER_TIME",
    1.0,
    parse_duration,
    help="every password-reset request is answered this long after it arrived, known address or "
    "not, so timing tells nothing; a mail not sent by then follows (default 1s)",
    allowed="must be a duration such as 500ms or 1s",
)
RESET_ACCOUNT_LIMIT = Setting(
    "JOBHOST_PASSWORD_RESET_ACCOUNT_LIMIT",
    RateLimit(3, 3600),
    RateLimit.parse,
    help="password-reset mails sent per account (default 3/h); requests beyond get the same answer",
)
SSE_STREAMS_PER_USER = Setting(
    "JOBHOST_SSE_STREAMS_PER_USER",
    20,
    parse_positive_int,
    help="job event streams one user may have open at once per API process (default 20)",
    allowed="must be a whole number >= 1",
)
SSE_STREAMS = Setting(
    "JOBHOST_SSE_STREAMS",
    2000,
    parse_positive_int,
    help="job event streams one API process keeps open at once, all users together (default 2000)",
    allowed="must be a whole number >= 1",
)
METRICS_TOKEN = Setting(
    "JOBHOST_METRICS_TOKEN",
    None,
    str,
    secret=True,
    help="bearer token /metrics requires (Prometheus: `authorization: {credentials: ...}`); unset = "
    "/metrics is public, so set it wherever the API is reachable from outside",
)
HTTP_SETTINGS = (
    MAX_BODY_SIZE,
    SESSION_TTL,
    LOGIN_ACCOUNT_LIMIT,
    LOGIN_ADDRESS_LIMIT,
    LOGIN_BUDGET,
    TRUSTED_PROXIES,
    RESET_URL,
    SSE_HEARTBEAT,
    SSE_STREAMS_PER_USER,
    SSE_STREAMS,
    RESET_ANSWER_TIME,
    RESET_ACCOUNT_LIMIT,
    HEADER_TIMEOUT,
    BODY_TIMEOUT,
    CONNECTIONS,
    METRICS_TOKEN,
)

RESET_TTL = 3600.0  # a reset token lasts one hour, as in the system being replaced


@attrs.frozen
class HttpConfig:
    max_body_size: int
    session_ttl: float
    login_account_limit: RateLimit
    login_address_limit: RateLimit
    login_budget: RateLimit
    trusted_proxies: tuple[str, ...]
    reset_url: str | None
    sse_heartbeat: float
    sse_streams_per_user: int
    sse_streams: int
    reset_answer_time: float
    reset_account_limit: RateLimit
    header_timeout: float
    body_timeout: float
    connections: int
    metrics_token: str | None

    @classmethod
    def read(cls, settings: Settings) -> HttpConfig:
        return cls(*(settings.read(s) for s in HTTP_SETTINGS))
