from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jobhost.testing import open_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh empty database of each kind: a SQLite file, or a PostgreSQL database of its own."""
    with open_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def host(make_host, database_url: str):
    """A host (no plugins) on a migrated fresh database."""
    from jobhost.store.migrate import upgrade

    host = make_host(DATABASE_URL=database_url)
    await upgrade(host)
    yield host
    await host.database.dispose()
