"""The email plugin's settings: the SMTP server, the sender and the links in bulk mail."""

from __future__ import annotations

from email.utils import parseaddr
from pathlib import Path
from typing import Any, Literal

import attrs

from jobhost import Setting, parse_duration

TlsMode = Literal["none", "starttls", "implicit"]
TLS_MODES: tuple[str, ...] = ("none", "starttls", "implicit")
# The port each TLS mode usually listens on, when SMTP_PORT is not set.
DEFAULT_PORTS = {"none": 25, "starttls": 587, "implicit": 465}


def parse_tls(text: str) -> str:
    mode = text.strip().lower()
    if mode not in TLS_MODES:
        raise ValueError("must be none, starttls or implicit")
    return mode


def parse_port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise ValueError("must be a port number from 1 to 65535")
    return port


def parse_timeout(text: str) -> float:
    seconds = parse_duration(text)
    if seconds <= 0:
        raise ValueError("must be a number of seconds > 0")
    return seconds


def parse_sender(text: str) -> str:
    """`noreply@example.com` or `Deals <noreply@example.com>`, checked, as given."""
    _name, address = parseaddr(text)
    if "@" not in address or "\n" in text or "\r" in text:
        raise ValueError("must be an address such as noreply@example.com or 'Deals <noreply@example.com>'")
    return text.strip()


def parse_base_url(text: str) -> str:
    url = text.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL such as https://deals.example.com")
    return url


SMTP_HOST = Setting("SMTP_HOST", "localhost", str.strip, help="SMTP server host name")
SMTP_PORT = Setting(
    "SMTP_PORT",
    None,
    parse_port,
    help="SMTP server port (default: 25, 587 or 465 by SMTP_TLS)",
    allowed="must be a port number from 1 to 65535",
)
SMTP_USERNAME = Setting("SMTP_USERNAME", None, str, help="SMTP login; unset = no AUTH")
SMTP_PASSWORD = Setting("SMTP_PASSWORD", None, str, secret=True, help="SMTP password")
SMTP_TLS = Setting(
    "SMTP_TLS",
    "starttls",
    parse_tls,
    help="none, starttls (upgrade after connecting) or implicit (TLS from the first byte)",
    allowed="must be none, starttls or implicit",
)
SMTP_CA_FILE = Setting(
    "SMTP_CA_FILE", None, str, help="PEM bundle that signs the SMTP server's certificate (private CAs)"
)
SMTP_CONNECT_TIMEOUT = Setting(
    "SMTP_CONNECT_TIMEOUT",
    10.0,
    parse_timeout,
    help="seconds to connect, including the TLS handshake",
    allowed="must be a number of seconds > 0",
)
SMTP_TIMEOUT = Setting(
    "SMTP_TIMEOUT",
    30.0,
    parse_timeout,
    help="seconds to wait for each SMTP reply",
    allowed="must be a number of seconds > 0",
)
MAIL_FROM = Setting(
    "MAIL_FROM",
    "noreply@localhost",
    parse_sender,
    help="sender of every message, e.g. 'Deals <noreply@example.com>'",
    allowed="must be an address such as noreply@example.com or 'Deals <noreply@example.com>'",
)
EMAIL_BASE_URL = Setting(
    "EMAIL_BASE_URL",
    "http://localhost:8000",
    parse_base_url,
    help="public URL of the API, for the unsubscribe links in deal alerts",
    allowed="must be an http:// or https:// URL such as https://deals.example.com",
)

SETTINGS: tuple[Setting, ...] = (
    SMTP_HOST,
    SMTP_PORT,
    SMTP_USERNAME,
    SMTP_PASSWORD,
    SMTP_TLS,
    SMTP_CA_FILE,
    SMTP_CONNECT_TIMEOUT,
    SMTP_TIMEOUT,
    MAIL_FROM,
    EMAIL_BASE_URL,
)


@attrs.frozen
class MailConfig:
    """Where and how the plugin sends mail. Build it with `MailConfig.from_settings(host.settings)`."""

    host: str = "localhost"
    port: int = 25
    tls: TlsMode = "none"
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    ca_file: str | None = None
    connect_timeout: float = 10.0
    timeout: float = 30.0
    sender: str = "noreply@localhost"
    base_url: str = "http://localhost:8000"

    def __attrs_post_init__(self) -> None:
        if self.username and self.tls == "none":
            raise ValueError(
                "SMTP_USERNAME is set with SMTP_TLS=none: the password would cross the network in clear; "
                "set SMTP_TLS=starttls or SMTP_TLS=implicit"
            )
        if self.password and not self.username:
            raise ValueError("SMTP_PASSWORD is set without SMTP_USERNAME: set both, or neither")
        if self.ca_file and not Path(self.ca_file).is_file():
            raise ValueError(f"SMTP_CA_FILE={self.ca_file}: no such file; give the path of a PEM bundle")

    @classmethod
    def from_settings(cls, settings: Any) -> MailConfig:
        """Read every setting through the host's `settings.read`, which names a bad variable."""
        tls = settings.read(SMTP_TLS)
        return cls(
            host=settings.read(SMTP_HOST),
            port=settings.read(SMTP_PORT) or DEFAULT_PORTS[tls],
            tls=tls,
            username=settings.read(SMTP_USERNAME) or None,
            password=settings.read(SMTP_PASSWORD) or None,
            ca_file=settings.read(SMTP_CA_FILE) or None,
            connect_timeout=settings.read(SMTP_CONNECT_TIMEOUT),
            timeout=settings.read(SMTP_TIMEOUT),
            sender=settings.read(MAIL_FROM),
            base_url=settings.read(EMAIL_BASE_URL),
        )

    @property
    def sender_address(self) -> str:
        """The bare address of MAIL_FROM, for the SMTP envelope."""
        return parseaddr(self.sender)[1]

    @property
    def sender_domain(self) -> str:
        return self.sender_address.rpartition("@")[2]

    @property
    def server(self) -> str:
        """`host:port`, as errors name the server (never with credentials)."""
        return f"{self.host}:{self.port}"
