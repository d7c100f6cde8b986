"""Signed one-click unsubscribe links: the token names the user and proves the plugin made it.

Tokens do not expire: an unsubscribe link in an old mail must still work.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path
from typing import Any

from jobhost import ServiceUnavailable
from jobhost_email.config import EMAIL_BASE_URL

# Keeps these signatures apart from anything else signed with the same secret.
PURPOSE = b"jobhost-email/unsubscribe/v1"
# Embedded mode without JOBHOST_SECRET_KEY keeps a generated secret here, under the data dir.
KEY_FILE = "email-unsubscribe.key"
PATH = "/api/email/unsubscribe"
_USER_ID = re.compile(r"[1-9][0-9]{0,18}")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class Unsubscribe:
    """Makes and checks unsubscribe tokens and links."""

    def __init__(self, secret: str, base_url: str) -> None:
        self._key = hmac.new(secret.encode(), PURPOSE, hashlib.sha256).digest()
        self.base_url = base_url

    @classmethod
    def from_settings(cls, settings: Any) -> Unsubscribe:
        """Links to EMAIL_BASE_URL signed with the host's secret; ServiceUnavailable without one."""
        key = secret(settings)
        if key is None:
            raise ServiceUnavailable(
                "deal alerts and unsubscribe links need JOBHOST_SECRET_KEY to be set (it signs the links)"
            )
        return cls(key, settings.read(EMAIL_BASE_URL))

    def _signature(self, user_id: int) -> str:
        return _b64(hmac.new(self._key, str(user_id).encode(), hashlib.sha256).digest())

    def token(self, user_id: int) -> str:
        return f"{user_id}.{self._signature(user_id)}"

    def url(self, user_id: int) -> str:
        return f"{self.base_url}{PATH}?token={self.token(user_id)}"

    def user_id(self, token: str) -> int | None:
        """The user a token was made for, or None when it is not one of ours (the id must be
        written as we write it: ASCII digits, no leading zero, at most 19 of them)."""
        user, _, signature = token.partition(".")
        if not _USER_ID.fullmatch(user) or not hmac.compare_digest(
            signature.encode(), self._signature(int(user)).encode()
        ):
            return None
        return int(user)


def secret(settings: Any) -> str | None:
    """JOBHOST_SECRET_KEY; in embedded mode without it, a secret generated once and kept in the
    data dir (so links survive restarts); otherwise None: no alerts can be signed."""
    if settings.secret_key:
        return settings.secret_key
    if not settings.embedded:
        return None
    path = Path(settings.data_dir) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside, then linked into place: a process racing us reads a whole key or none.
        draft = path.with_name(f"{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
            file.write(secrets.token_urlsafe(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first; use theirs
        finally:
            draft.unlink()
    return path.read_text().strip()
