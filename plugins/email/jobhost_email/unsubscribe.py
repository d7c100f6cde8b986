"""Signed one-click unsubscribe links: the token names the user and proves the plugin made it.

Tokens do not expire: an unsubscribe link in an old mail must still work.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from pathlib import Path
from typing import Any

from jobhost_email.config import EMAIL_BASE_URL

# Keeps these signatures apart from anything else signed with the same secret.
PURPOSE = b"jobhost-email/unsubscribe/v1"
# Before the deployment's keys lived in its database, an install without JOBHOST_SECRET_KEY
# signed with this file in its data directory: the links in mails sent then must still work.
LEGACY_KEY_FILE = "email-unsubscribe.key"
PATH = "/api/email/unsubscribe"
_USER_ID = re.compile(r"[1-9][0-9]{0,18}")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class Unsubscribe:
    """Makes tokens and links with the signing key; checks them against every verifying key."""

    def __init__(self, secret: str, base_url: str, older: tuple[str, ...] = ()) -> None:
        self._keys = [hmac.new(key.encode(), PURPOSE, hashlib.sha256).digest() for key in (secret, *older)]
        self.base_url = base_url

    @classmethod
    async def of(cls, host: Any) -> Unsubscribe:
        """Links to EMAIL_BASE_URL signed with the host's secret key (JOBHOST_SECRET_KEY, or the
        deployment's generated one); links signed with a rotated-out key, or with an older
        install's key file, still check."""
        keys = await host.secret_keys()
        legacy = Path(host.settings.data_dir) / LEGACY_KEY_FILE
        older = keys.verifying[1:] + ((legacy.read_text().strip(),) if legacy.is_file() else ())
        return cls(keys.signing, host.settings.read(EMAIL_BASE_URL), older)

    def _signature(self, user_id: int, key: bytes | None = None) -> str:
        return _b64(hmac.new(key or self._keys[0], str(user_id).encode(), hashlib.sha256).digest())

    def token(self, user_id: int) -> str:
        return f"{user_id}.{self._signature(user_id)}"

    def url(self, user_id: int) -> str:
        return f"{self.base_url}{PATH}?token={self.token(user_id)}"

    def user_id(self, token: str) -> int | None:
        """The user a token was made for, or None when it is not one of ours (the id must be
        written as we write it: ASCII digits, no leading zero, at most 19 of them)."""
        user, _, signature = token.partition(".")
        if not _USER_ID.fullmatch(user):
            return None
        if not any(
            hmac.compare_digest(signature.encode(), self._signature(int(user), key).encode())
            for key in self._keys
        ):
            return None
        return int(user)
