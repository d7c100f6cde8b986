from __future__ import annotations

import pytest


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test here that takes `database_url` runs on SQLite and on PostgreSQL."""
    chosen = any("database_url" in m.args[0] for m in metafunc.definition.iter_markers("parametrize"))
    if "database_url" in metafunc.fixturenames and not chosen:
        metafunc.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
async def host(make_host, database_url: str):
    """A host (no plugins) on a migrated fresh database."""
    host = make_host(DATABASE_URL=database_url)
    await host.migrate()
    yield host
    await host.database.dispose()
