"""What `jobhost run` and `jobhost api` print as they start: the mode, where the data lives, the
URLs, and, on a database with no admin yet, a one-time sign-in link for a first one.

The link is the way in on a first run (as `datasette --root` and Jupyter's tokenised URL are): it
signs a browser into the dashboard as the first admin, works once and expires after
`LINK_TTL`. Only the token's hash is stored, like every other token (`store/accounts.py`).
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from jobhost.http.dashboard.session import BASE, SIGN_IN_PATH
from jobhost.store.accounts import SIGN_IN, AccountError, Accounts

if TYPE_CHECKING:
    from jobhost.host import Host
    from jobhost.store.user import User

FIRST_ADMIN = "admin@localhost"
LINK_TTL = 15 * 60.0


def base_url(bind: str, port: int) -> str:
    """The address a browser on this machine uses to reach an API listening on `bind`."""
    shown = "127.0.0.1" if bind in ("", "0.0.0.0") else "::1" if bind == "::" else bind
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


async def sign_in_link(accounts: Accounts, user: User, base: str) -> str:
    issued = await accounts.issue_token(user, SIGN_IN, LINK_TTL)
    return f"{base}{BASE}{SIGN_IN_PATH}?{urlencode({'token': issued.token})}"


async def first_admin_link(host: Host, base: str) -> str | None:
    """A sign-in link for the first admin (created now, with a password nobody knows), or None
    when the database has an admin already."""
    accounts = Accounts(host.db)
    if await accounts.has_admin():
        return None
    user = await accounts.find(FIRST_ADMIN)
    if user is None:
        try:
            user = await accounts.create_user(FIRST_ADMIN, secrets.token_urlsafe(32), is_admin=True)
        except AccountError:  # another process created it in the meantime
            user = await accounts.find(FIRST_ADMIN)
    if user is None or not user.is_admin:
        return None
    return await sign_in_link(accounts, user, base)


def banner(host: Host, base: str, link: str | None, *, migrated: bool = True) -> str:
    settings = host.settings
    if settings.embedded:
        mode = "embedded (no REDIS_URL): queues live in this process, kept in the data directory"
    else:
        from jobhost.settings import mask_url

        mode = f"Redis at {mask_url(settings.redis_url or '')}"
    lines = [
        f"jobhost is up: {mode}",
        f"  data:         {settings.data_dir}  (uploads: {settings.uploads})",
        f"  API:          {base}/api",
        f"  dashboard:    {base}{BASE}",
        f"  API explorer: {base}/schema",
    ]
    if not migrated:
        lines.append("The database has no tables yet: run `jobhost db upgrade`, then start this again.")
    elif link:
        lines += [
            f"No admin yet. Sign in as the first one ({FIRST_ADMIN}) with this link; it works once",
            f"within {LINK_TTL / 60:.0f} minutes (a new one: `jobhost users link {FIRST_ADMIN}`):",
            f"  {link}",
        ]
    else:
        lines.append("Sign in with your account; `jobhost users link EMAIL` makes a one-time sign-in link.")
    return "\n".join(lines)
