"""The host's own features, registered as plugins through the same hooks as any other."""

from __future__ import annotations

from typing import Any


def builtin_plugins() -> list[tuple[str, Any]]:
    """Fresh built-in plugin objects for one host (their services bind to that host)."""
    from jobhost.builtins import accounts, api

    return [(accounts.NAME, accounts.AccountsPlugin()), (api.NAME, api)]
