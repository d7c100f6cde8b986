"""One message as a send job carries it: JSON-ready, checked, and turned into MIME when sent.

The Message-ID and Date are fixed when the message is composed, so every try of its job sends
the very same message and the delivery ledger can recognise it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr, parsedate_to_datetime
from typing import Any

import attrs

# Headers the plugin writes itself; a caller's `headers` may not replace them.
RESERVED_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)
# RFC 5322 field name: printable ASCII except the colon.
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")
# What SMTP's RCPT line can carry: no space, quote or angle bracket (control characters are
# refused in every one-line field).
_ADDRESS = re.compile(r'^[^@\s<>"]+@[^@\s<>"]+$')
_MESSAGE_ID = re.compile(r"^<[^<>\s]+@[^<>\s]+>$")
# Lines up to RFC 5322's hard limit of 998: the default 78 makes Python RFC 2047-encode a header
# it cannot fold, such as a long `List-Unsubscribe` URL, which mail clients then cannot use.
_POLICY = policy.default.clone(max_line_length=998)


class InvalidMail(ValueError):
    """A message field holds something that cannot be sent; the message names the field."""


def _one_line(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidMail(f"mail field {field!r} must be a string, got {value!r}")
    # Python's email package breaks lines at every Unicode line boundary, not only CR and LF: one
    # line is what splitlines() leaves whole, a trailing boundary included.
    if value.splitlines() not in ([], [value]):
        raise InvalidMail(f"mail field {field!r} must be one line, got {value!r}")
    if any(unicodedata.category(c) == "Cc" and c != "\t" for c in value):
        raise InvalidMail(f"mail field {field!r} holds a control character: {value!r}")
    return value


def _recipients(value: str | Iterable[str]) -> tuple[str, ...]:
    recipients = (value,) if isinstance(value, str) else tuple(value)
    if not recipients:
        raise InvalidMail("mail field 'to' needs at least one address")
    for recipient in recipients:
        _one_line("to", recipient)
        if not _ADDRESS.match(parseaddr(recipient)[1]) or not _parses_as_header(recipient):
            raise InvalidMail(f"mail field 'to': {recipient!r} is not an address such as ann@example.com")
    return recipients


def _parses_as_header(recipient: str) -> bool:
    """Whether the email package can write `recipient` in a To header. Its parser raises assorted
    errors (AttributeError, IndexError) on some malformed addresses rather than a defect."""
    message = EmailMessage(policy=_POLICY)
    try:
        message["To"] = recipient
        message.as_bytes()
    except Exception:
        return False
    return True


def _headers(value: Mapping[str, str] | None) -> dict[str, str]:
    headers = dict(value or {})
    for name, text in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise InvalidMail(f"mail field 'headers': {name!r} is not a header name")
        if name.lower() in RESERVED_HEADERS:
            raise InvalidMail(f"mail field 'headers': {name!r} is set by the email plugin itself")
        _one_line(f"headers.{name}", text)
    return headers


def _message_id(_instance: Any, _attribute: Any, value: str) -> None:
    if not isinstance(value, str) or not _MESSAGE_ID.match(value):
        raise InvalidMail(f"mail field 'message_id' must look like <unique@domain>, got {value!r}")


def _text(_instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not isinstance(value, str):
        raise InvalidMail(f"mail field {attribute.name!r} must be a string, got {type(value).__name__}")


def _optional_text(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is not None:
        _text(instance, attribute, value)


def _date(_instance: Any, _attribute: Any, value: str) -> None:
    try:
        parsedate_to_datetime(value)
    except (TypeError, ValueError):
        raise InvalidMail(f"mail field 'date' must be an RFC 5322 date, got {value!r}") from None


@attrs.frozen
class Mail:
    """A composed message: who gets it, what it says, and its fixed identity."""

    message_id: str = attrs.field(validator=_message_id)
    to: tuple[str, ...] = attrs.field(converter=_recipients)
    subject: str = attrs.field(converter=lambda v: _one_line("subject", v))
    text: str = attrs.field(validator=_text)
    date: str = attrs.field(validator=_date)
    html: str | None = attrs.field(default=None, validator=_optional_text)
    headers: dict[str, str] = attrs.field(factory=dict, converter=_headers)

    @classmethod
    def compose(
        cls,
        to: str | Iterable[str],
        subject: str,
        text: str,
        html: str | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        domain: str,
        unique: str | None = None,
    ) -> Mail:
        """A new message dated now, with a fresh Message-ID under `domain`, or `<unique@domain>`
        for a message that must keep one identity however often it is composed."""
        return cls(
            message_id=f"<{unique}@{domain}>" if unique else make_msgid(domain=domain),
            to=to,
            subject=subject,
            text=text,
            date=format_datetime(datetime.now(UTC)),
            html=html,
            headers=headers,
        )

    @property
    def envelope_recipients(self) -> list[str]:
        """The bare addresses for SMTP's RCPT TO."""
        return [parseaddr(recipient)[1] for recipient in self.to]

    def as_kwargs(self) -> dict[str, Any]:
        """The JSON-ready keyword arguments of the send job; `Mail(**kwargs)` reads them back."""
        return {**attrs.asdict(self), "to": list(self.to)}

    def to_mime(self, sender: str) -> EmailMessage:
        """A multipart/alternative message (plain text first, then HTML) with every header set."""
        message = EmailMessage(policy=_POLICY)
        message["From"] = sender
        message["To"] = ", ".join(self.to)
        message["Subject"] = self.subject
        message["Date"] = self.date
        message["Message-ID"] = self.message_id
        for name, value in self.headers.items():
            message[name] = value
        message.set_content(self.text)
        if self.html is not None:
            message.add_alternative(self.html, subtype="html")
        return message


def bulk_headers(unsubscribe_url: str) -> dict[str, str]:
    """Headers of bulk mail: a one-click unsubscribe link (RFC 2369, RFC 8058) and bulk markers."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Precedence": "bulk",
        "Auto-Submitted": "auto-generated",
    }
