"""The security suite runs the HTTP tests' real app (uvicorn on loopback, real Redis) on
PostgreSQL, the production database; tests/http covers SQLite too."""

from __future__ import annotations

import pytest

from tests.http.conftest import make_api, password_hash  # noqa: F401  (fixtures used here too)
from tests.http.test_password_reset import smtp  # noqa: F401


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The security tests run on PostgreSQL, the production database (jobhost.testing's fixture)."""
    if "database_url" in metafunc.fixturenames:
        metafunc.parametrize("database_url", ["postgresql"], indirect=True)
