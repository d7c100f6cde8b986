"""Every setting, read from the environment in one typed place.

A bad value fails at start-up with the variable's name and what is allowed. Plugins declare
their own settings (`register_settings`) with the same `Setting` type, so `jobhost config` shows
the whole effective configuration, secrets masked.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import attrs
import platformdirs
import redis.connection
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from jobhost import redis_url
from jobhost.policy import QueuePolicy, RateLimit


class SettingsError(ValueError):
    """A variable holds a value its setting does not allow."""


# The parsers below are public (exported by `jobhost`) for plugins' own settings; each raises
# ValueError with the rule, which `Setting.read` turns into an error naming the variable.


def parse_bool(text: str) -> bool:
    """`1/0`, `true/false`, `yes/no`, `on/off`."""
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("must be one of 1/0, true/false, yes/no, on/off")


def parse_positive_int(text: str) -> int:
    """A whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError("must be a whole number >= 1")
    return value


# The longest duration a setting may give: far beyond any sensible one, and short enough that
# now + it is still a date (Python's end at year 9999).
MAX_DURATION = 100 * 365 * 86400.0


def parse_duration(text: str) -> float:
    """`30`, `1.5`, `500ms`, `2m`, `1h` or `7d`, as seconds (at most 100 years)."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    stripped = text.strip()
    for suffix in sorted(units, key=len, reverse=True):
        if stripped.endswith(suffix):
            stripped, factor = stripped[: -len(suffix)], units[suffix]
            break
    else:
        factor = 1
    try:
        value = float(stripped) * factor
    except ValueError:
        value = -1.0
    if not (0 <= value < math.inf):
        raise ValueError("must be a duration >= 0, such as 30, 500ms, 2m or 1h")
    if value > MAX_DURATION:
        raise ValueError("must be a duration >= 0 of at most 100 years, such as 30, 500ms, 2m or 1h")
    return value


def parse_replicas(text: str) -> int:
    if not text.strip().isdigit():
        raise ValueError("must be a whole number >= 0 of replicas (0 = do not wait for any)")
    return int(text)


def parse_blob_store(text: str) -> str:
    """`folder`, `database` or `s3://bucket[/prefix]` (the backends of `jobhost.store.blobs`)."""
    value = text.strip()
    if value in ("folder", "database") or (value.startswith("s3://") and value[5:].split("/", 1)[0]):
        return value
    raise ValueError("must be folder, database or s3://bucket[/prefix]")


def parse_log_format(text: str) -> str:
    value = text.strip().lower()
    if value not in ("text", "json"):
        raise ValueError("must be text or json")
    return value


def parse_names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


@attrs.frozen
class Setting:
    """One environment variable: its name, default, parser and whether to mask it."""

    name: str
    default: Any = None
    parse: Callable[[str], Any] = str
    secret: bool = False
    help: str = ""
    # The text `parse` accepts, for the error message.
    allowed: str = ""

    def read(self, env: Mapping[str, str]) -> Any:
        raw = env.get(self.name)
        if raw is None:
            return self.default
        try:
            return self.parse(raw)
        except ValueError as exc:
            masked = mask(self, raw)
            # A URL keeps its shape (its password masked) so the mistake in it can be seen.
            shown = (repr(masked) if masked != "***" else masked) if self.secret else repr(raw)
            rule = self.allowed or str(exc)
            raise SettingsError(f"{self.name}={shown}: {rule}") from None


def default_data_dir() -> Path:
    """The platform's per-user data folder (`~/.local/share/jobhost` on Linux): every command
    finds the same data wherever it is started."""
    return platformdirs.user_data_path("jobhost")


_REDIS_SCHEMES = ("redis", "rediss", "unix")
REDIS_URL_RULE = "must be a Redis URL such as redis://localhost:6379/0 (schemes redis, rediss, unix)"


def parse_redis_url(text: str) -> str:
    """A URL redis-py can connect to: a known scheme, a numeric port, a database number; or a
    Sentinel or Cluster URL (jobhost/redis_url.py)."""
    url = text.strip()
    if "+" in url.partition("://")[0]:
        redis_url.parse(url)  # redis+sentinel://, redis+cluster://: wrong ones say what is wrong
        return url
    parts = urlsplit(url)
    if parts.scheme not in _REDIS_SCHEMES or not (parts.hostname or parts.path):
        raise ValueError(REDIS_URL_RULE)
    database = parts.path.strip("/")
    if parts.scheme != "unix" and database and not database.isdigit():
        raise ValueError(REDIS_URL_RULE)  # redis-py would quietly use database 0
    try:
        parts.port  # noqa: B018 (raises for a port that is not a number)
        redis.connection.parse_url(url)  # type: ignore[no-untyped-call]
    except ValueError:
        raise ValueError(REDIS_URL_RULE) from None
    return url


# Schemes jobhost has a driver for (the store swaps in the async one).
DATABASE_SCHEMES = ("postgres", "postgresql", "postgresql+asyncpg", "sqlite", "sqlite+aiosqlite")
DATABASE_URL_RULE = (
    "must be a database URL such as postgresql://user@host/db or sqlite:///path/to/file.db "
    f"(schemes {', '.join(DATABASE_SCHEMES)})"
)


def parse_database_url(text: str) -> str:
    url = text.strip()
    scheme, sep, _ = url.partition("://")
    if not sep or scheme not in DATABASE_SCHEMES:
        raise ValueError(DATABASE_URL_RULE)
    try:
        make_url(url)
    except (ArgumentError, ValueError):
        raise ValueError(DATABASE_URL_RULE) from None
    return url


HOST_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "REDIS_URL",
        None,
        parse_redis_url,
        secret=True,
        help="Redis for queues and the job registry: redis://, redis+sentinel:// or "
        "redis+cluster://; unset = embedded in-process store",
    ),
    Setting(
        "DATABASE_URL",
        None,
        parse_database_url,
        secret=True,
        help="SQLAlchemy URL; unset = SQLite file in JOBHOST_DATA_DIR",
    ),
    Setting(
        "JOBHOST_DATA_DIR",
        None,
        str,
        help="the SQLite database, uploads and the embedded store (default: the user data folder)",
    ),
    Setting("UPLOAD_DIR", None, str, help="uploaded files (default JOBHOST_DATA_DIR/uploads)"),
    Setting(
        "JOBHOST_BLOB_STORE",
        None,
        parse_blob_store,
        help="where uploads are kept: folder (UPLOAD_DIR), database or s3://bucket[/prefix]; "
        "unset = database when DATABASE_URL is set, else folder",
        allowed="must be folder, database or s3://bucket[/prefix]",
    ),
    Setting(
        "JOBHOST_BLOB_MAX_SIZE",
        64 * 1024 * 1024,
        parse_positive_int,
        help="largest blob in bytes the blob store accepts",
        allowed="must be a whole number of bytes >= 1",
    ),
    Setting("JOBHOST_S3_ENDPOINT", None, str, help="S3-compatible server URL; unset = AWS S3"),
    Setting("JOBHOST_S3_REGION", "us-east-1", str, help="the bucket's region"),
    Setting(
        "JOBHOST_S3_ACCESS_KEY_ID",
        None,
        str,
        secret=True,
        help="unset = AWS_ACCESS_KEY_ID and the usual chain",
    ),
    Setting("JOBHOST_S3_SECRET_ACCESS_KEY", None, str, secret=True, help="unset = AWS_SECRET_ACCESS_KEY"),
    Setting(
        "SHUTDOWN_TIMEOUT",
        30.0,
        parse_duration,
        help="seconds running jobs and requests get to finish on SIGTERM",
        allowed="must be a duration >= 0, such as 30, 500ms, 2m or 1h",
    ),
    Setting(
        "JOBHOST_SECRET_KEY",
        None,
        str,
        secret=True,
        help="signs tokens sent by mail; unset, a key generated once and kept in the database does",
    ),
    Setting("JOBHOST_REDIS_PREFIX", "jobhost", str, help="prefix of every Redis key"),
    Setting(
        "JOBHOST_REDIS_MIN_REPLICAS",
        0,
        parse_replicas,
        help="an enqueue is acknowledged only once this many replicas have it (Redis WAIT)",
    ),
    Setting(
        "JOBHOST_REDIS_REPLICA_TIMEOUT",
        1.0,
        parse_duration,
        help="how long an enqueue waits for JOBHOST_REDIS_MIN_REPLICAS before it answers 503",
        allowed="must be a duration >= 0, such as 1, 500ms or 2s",
    ),
    Setting(
        "JOBHOST_LOAD_PLUGINS",
        None,
        parse_names,
        help="comma-separated plugins to load (empty = none); unset = all installed",
    ),
    Setting("JOBHOST_DISABLE_PLUGINS", (), parse_names, help="comma-separated plugins to skip"),
    Setting(
        "JOBHOST_STRICT_PLUGINS",
        False,
        parse_bool,
        help="1 = any plugin failure stops start-up",
        allowed="must be 1 or 0",
    ),
    Setting("JOBHOST_LOG_LEVEL", "INFO", str.upper, help="DEBUG, INFO, WARNING or ERROR"),
    Setting(
        "JOBHOST_LOG_FORMAT",
        "text",
        parse_log_format,
        help="text, or json: one JSON object a line, for log shippers",
        allowed="must be text or json",
    ),
)


@attrs.frozen
class Settings:
    """The host's settings; build with `Settings.from_env()`."""

    redis_url: str | None = None
    database_url: str | None = None
    data_dir: Path = attrs.field(factory=default_data_dir, converter=Path)
    upload_dir: Path | None = attrs.field(default=None, converter=attrs.converters.optional(Path))
    blob_store: str | None = None
    blob_max_size: int = 64 * 1024 * 1024
    s3_endpoint: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = attrs.field(default=None, repr=False)
    s3_secret_access_key: str | None = attrs.field(default=None, repr=False)
    shutdown_timeout: float = 30.0
    secret_key: str | None = None
    redis_prefix: str = "jobhost"
    redis_min_replicas: int = 0
    redis_replica_timeout: float = 1.0
    load_plugins: tuple[str, ...] | None = None
    disable_plugins: tuple[str, ...] = ()
    strict_plugins: bool = False
    log_level: str = "INFO"
    log_format: str = "text"
    # The whole environment the settings were read from: plugins' settings and the queues'
    # concurrency variables are read from it too.
    env: Mapping[str, str] = attrs.field(factory=dict, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        values = {s.name: s.read(env) for s in HOST_SETTINGS}
        if values["JOBHOST_LOG_LEVEL"] not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise SettingsError(
                f"JOBHOST_LOG_LEVEL={values['JOBHOST_LOG_LEVEL']!r}: must be DEBUG, INFO, WARNING or ERROR"
            )
        return cls(
            redis_url=values["REDIS_URL"] or None,
            database_url=values["DATABASE_URL"] or None,
            data_dir=values["JOBHOST_DATA_DIR"] or default_data_dir(),
            upload_dir=values["UPLOAD_DIR"] or None,
            blob_store=values["JOBHOST_BLOB_STORE"],
            blob_max_size=values["JOBHOST_BLOB_MAX_SIZE"],
            s3_endpoint=values["JOBHOST_S3_ENDPOINT"] or None,
            s3_region=values["JOBHOST_S3_REGION"],
            s3_access_key_id=values["JOBHOST_S3_ACCESS_KEY_ID"] or None,
            s3_secret_access_key=values["JOBHOST_S3_SECRET_ACCESS_KEY"] or None,
            shutdown_timeout=values["SHUTDOWN_TIMEOUT"],
            secret_key=values["JOBHOST_SECRET_KEY"] or None,
            redis_prefix=values["JOBHOST_REDIS_PREFIX"],
            redis_min_replicas=values["JOBHOST_REDIS_MIN_REPLICAS"],
            redis_replica_timeout=values["JOBHOST_REDIS_REPLICA_TIMEOUT"],
            load_plugins=values["JOBHOST_LOAD_PLUGINS"],
            disable_plugins=values["JOBHOST_DISABLE_PLUGINS"],
            strict_plugins=values["JOBHOST_STRICT_PLUGINS"],
            log_level=values["JOBHOST_LOG_LEVEL"],
            log_format=values["JOBHOST_LOG_FORMAT"],
            env=env,
        )

    def __attrs_post_init__(self) -> None:
        # On a Cluster the whole deployment shares one hash slot (the prefix is its hash tag), so
        # every script and transaction, flows and dependencies across queues included, stays atomic.
        if redis_url.is_cluster(self.redis_url) and "{" not in self.redis_prefix:
            object.__setattr__(self, "redis_prefix", "{" + self.redis_prefix + "}")
        if self.redis_min_replicas and (self.redis_url is None or redis_url.is_cluster(self.redis_url)):
            raise SettingsError(
                "JOBHOST_REDIS_MIN_REPLICAS needs REDIS_URL to name one server or a Sentinel primary "
                "(redis:// or redis+sentinel://): embedded mode has no replicas, and on a Cluster "
                "it is not supported; unset it or set it to 0"
            )

    @property
    def embedded(self) -> bool:
        """No REDIS_URL: queues live in an in-process store."""
        return self.redis_url is None

    @property
    def uploads(self) -> Path:
        return self.upload_dir or self.data_dir / "uploads"

    @property
    def sql_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'jobhost.db'}"

    def read(self, setting: Setting) -> Any:
        """The value of a plugin's setting in this environment."""
        return setting.read(self.env)

    def concurrency(self, policy: QueuePolicy) -> int:
        """How many jobs of this queue one worker runs at once: its variable, else its default."""
        if not policy.concurrency_env:
            return policy.concurrency
        return cast(
            int,
            self.read(
                Setting(
                    policy.concurrency_env,
                    policy.concurrency,
                    parse_positive_int,
                    allowed="must be a whole number >= 1",
                )
            ),
        )

    def rate_limit(self, policy: QueuePolicy) -> RateLimit | None:
        """The queue's rate limit: its variable, else its policy's."""
        if not policy.rate_limit_env:
            return policy.rate_limit
        return cast(
            RateLimit | None, self.read(Setting(policy.rate_limit_env, policy.rate_limit, RateLimit.parse))
        )


def mask(setting: Setting, value: Any) -> Any:
    """What `jobhost config` shows: secrets as `***`, URLs with their password masked."""
    if value is None or value == "":
        return value
    if setting.secret and isinstance(value, str) and "://" in value:
        return mask_url(value)
    return "***" if setting.secret else value


# Query parameters that carry credentials in database and Redis URLs (`?password=`, libpq's
# `sslpassword`, ...).
_SECRET_QUERY = re.compile(r"([?&][^=&#]*(?:pass|secret|token|key)[^=&#]*=)[^&#]*", re.IGNORECASE)


def mask_url(url: str) -> str:
    """`url` with the password of its user and of its query parameters as `***`."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "***"
    location, query_sep, query = rest.partition("?")
    if "@" in location:
        creds, host = location.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        location = f"{user}:***@{host}" if ":" in creds else f"***@{host}"
    masked_query = _SECRET_QUERY.sub(r"\1***", f"?{query}")[1:] if query_sep else ""
    return f"{scheme}://{location}{query_sep}{masked_query}"


def effective(settings: Settings, extra: Iterable[Setting]) -> dict[str, Any]:
    """Every setting's effective value, masked for display: the values the host derives for the
    unset data settings (the data folder, the SQLite file, the upload folder) included."""
    shown = {}
    for setting in (*HOST_SETTINGS, *extra):
        value = setting.read(settings.env)
        shown[setting.name] = mask(setting, list(value) if isinstance(value, tuple) else value)
    shown["JOBHOST_DATA_DIR"] = str(settings.data_dir)
    shown["UPLOAD_DIR"] = str(settings.uploads)
    shown["DATABASE_URL"] = mask_url(settings.sql_url)
    return shown


def describe(name: str, value: Any, env: Mapping[str, str]) -> str:
    """One setting as `jobhost config` prints it: unset and empty told apart, defaults marked."""
    if name == "REDIS_URL" and value is None:
        text = "(unset: embedded, an in-process store)"
    elif value is None:
        text = "(unset)"
    elif isinstance(value, list):
        text = ",".join(map(str, value)) or "(empty)"
    else:
        text = str(value)
    return f"{name}={text}" + ("" if name in env else "  (default)")


def configuration_warnings(settings: Settings) -> list[str]:
    """What the settings leave broken though the host starts: shown in the start-up log,
    `/readyz` and `jobhost plugins`. (A missing JOBHOST_SECRET_KEY no longer is: a key is
    generated and kept in the database, store/secrets.py.)"""
    return []
