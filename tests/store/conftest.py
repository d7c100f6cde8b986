from __future__ import annotations

import pytest


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test here that takes `database_url` runs on SQLite and on PostgreSQL."""
    if "database_url" in metafunc.fixturenames:
        metafunc.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
async def host(make_host, database_url: str):
    """A host (no plugins) on a migrated fresh database."""
    host = make_host(DATABASE_URL=database_url)
    await host.migrate()
    yield host
    await host.database.dispose()
