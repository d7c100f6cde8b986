"""The security suite runs the HTTP tests' real app (uvicorn on loopback, real Redis) on
PostgreSQL, the production database; tests/http covers SQLite too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jobhost.testing import open_database
from tests.http.conftest import make_api, password_hash  # noqa: F401  (fixtures used here too)
from tests.http.test_password_reset import smtp  # noqa: F401


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    with open_database("postgresql", tmp_path) as url:
        yield url
