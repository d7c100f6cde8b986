"""What the HTTP face keeps for the app's life: the host, its accounts, its settings, its event hub."""

from __future__ import annotations

from typing import Any

import attrs
from litestar.connection import ASGIConnection

from jobhost.host import Host
from jobhost.http.config import HttpConfig
from jobhost.http.streams import EventHub
from jobhost.store.accounts import Accounts


@attrs.frozen
class AppState:
    host: Host
    config: HttpConfig
    accounts: Accounts
    hub: EventHub


def app_state(connection: ASGIConnection[Any, Any, Any, Any]) -> AppState:
    return connection.app.state.jobhost
