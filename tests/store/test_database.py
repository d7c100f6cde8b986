import pytest
from sqlalchemy import text

from jobhost.store.database import Database, DatabaseURLError, async_url


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://u:p@db:5432/app", "postgresql+asyncpg://u:p@db:5432/app"),
        ("postgresql://u@db/app", "postgresql+asyncpg://u@db/app"),
        ("postgresql+asyncpg://u@db/app", "postgresql+asyncpg://u@db/app"),
        ("sqlite:///data/jobhost.db", "sqlite+aiosqlite:///data/jobhost.db"),
    ],
)
def test_provider_urls_get_the_async_driver(given, used):
    assert async_url(given) == used


@pytest.mark.parametrize("url", ["mysql://u@db/app", "postgresql+psycopg2://u@db/app", "just-a-path.db"])
def test_unsupported_urls_are_refused_with_what_to_use(url):
    with pytest.raises(DatabaseURLError, match=r"DATABASE_URL: unsupported database.*postgresql://"):
        async_url(url)


def test_display_masks_the_password():
    assert str(Database("postgres://app:s3cret@db/app")) == "postgresql+asyncpg://app:***@db/app"


async def test_default_sqlite_file_lives_in_the_data_dir(make_host, tmp_path):
    host = make_host()
    try:
        async with host.db() as session:
            assert (await session.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (tmp_path / "jobhost" / "jobhost.db").exists()
    finally:
        await host.database.dispose()


async def test_ping_fails_fast_on_an_unreachable_database(make_host):
    host = make_host(DATABASE_URL="postgresql://postgres@127.0.0.1:1/none")
    with pytest.raises(OSError):
        await host.database.ping()
