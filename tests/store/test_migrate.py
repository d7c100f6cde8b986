import textwrap
from pathlib import Path

import pytest
from sqlalchemy import inspect

from jobhost import hookimpl
from jobhost.plugins import PluginError
from jobhost.store.migrate import MigrationError


def revision(folder: Path, rev: str, down: str | None, body: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{rev}.py").write_text(
        textwrap.dedent(
            f"""
            import sqlalchemy as sa
            from alembic import op

            revision = {rev!r}
            down_revision = {down!r}
            branch_labels = None
            depends_on = None

            def upgrade():
            """
        )
        + textwrap.indent(textwrap.dedent(body), "    ")
    )


class Migrations:
    """A plugin that registers one migrations folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @hookimpl
    def register_migrations(self, register):
        register(self.folder)


NOTES = """
op.create_table(
    "notes_notes",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
)
"""


async def tables(host) -> set[str]:
    async with host.database.engine.connect() as conn:
        return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


async def test_host_migrations_create_the_account_tables_once(make_host, database_url):
    host = make_host(DATABASE_URL=database_url)
    try:
        assert await host.migrated() == {"jobhost": ()}
        assert await host.migrate() == {"jobhost": ("jobhost_0004",)}
        assert {"users", "tokens", "alembic_version"} <= await tables(host)
        assert await host.migrate() == {"jobhost": ("jobhost_0004",)}  # idempotent
    finally:
        await host.database.dispose()


async def test_plugin_branch_is_applied_and_later_revisions_follow(make_host, database_url, tmp_path):
    folder = tmp_path / "notes_migrations"
    revision(folder, "notes_0001", None, NOTES)
    host = make_host(("notes", Migrations(folder)), DATABASE_URL=database_url)
    try:
        assert await host.migrate() == {"jobhost": ("jobhost_0004",), "notes": ("notes_0001",)}
        assert "notes_notes" in await tables(host)

        revision(
            folder, "notes_0002", "notes_0001", 'op.add_column("notes_notes", sa.Column("body", sa.Text))'
        )
        assert (await host.migrate())["notes"] == ("notes_0002",)
        async with host.database.engine.connect() as conn:
            columns = await conn.run_sync(
                lambda s: [c["name"] for c in inspect(s).get_columns("notes_notes")]
            )
        assert columns == ["id", "user_id", "body"]
    finally:
        await host.database.dispose()


async def test_a_broken_history_fails_its_plugin_alone(make_host, tmp_path):
    folder = tmp_path / "m"
    revision(folder, "notes_0002", "notes_0001", NOTES)  # its parent is missing
    host = make_host(("notes", Migrations(folder)))
    try:
        assert await host.migrate() == {"jobhost": ("jobhost_0004",)}  # the host runs degraded
        notes = host.registry.plugins["notes"]
        assert notes.status == "failed" and host.degraded
        assert "plugin 'notes': its migrations do not form a valid history" in notes.error
        assert "notes_notes" not in await tables(host)
    finally:
        await host.database.dispose()


async def test_strict_mode_stops_on_a_broken_history(make_host, tmp_path):
    folder = tmp_path / "m"
    revision(folder, "notes_0002", "notes_0001", NOTES)
    host = make_host(("notes", Migrations(folder)), JOBHOST_STRICT_PLUGINS="1")
    try:
        with pytest.raises(PluginError, match=r"plugin 'notes'.*do not form a valid history"):
            await host.migrate()
        assert await tables(host) == set()  # nothing ran, not even the host's
    finally:
        await host.database.dispose()


async def test_disabling_a_migrated_plugin_keeps_its_tables_and_later_upgrades_work(
    make_host, database_url, tmp_path
):
    folder = tmp_path / "m"
    revision(folder, "notes_0001", None, NOTES)
    host = make_host(("notes", Migrations(folder)), DATABASE_URL=database_url)
    try:
        await host.migrate()
    finally:
        await host.database.dispose()
    without = make_host(DATABASE_URL=database_url)
    try:
        assert await without.migrate() == {"jobhost": ("jobhost_0004",)}
        assert {"notes_notes", "alembic_version_notes"} <= await tables(without)
    finally:
        await without.database.dispose()


async def test_failing_plugin_migration_names_the_plugin_and_keeps_the_host_tables(
    make_host, database_url, tmp_path
):
    folder = tmp_path / "m"
    revision(folder, "notes_0001", None, 'op.execute("SELECT * FROM no_such_table")')
    host = make_host(("notes", Migrations(folder)), DATABASE_URL=database_url)
    try:
        with pytest.raises(MigrationError, match=r"plugin 'notes': migration failed.*no_such_table"):
            await host.migrate()
        assert await host.migrated() == {"jobhost": ("jobhost_0004",), "notes": ()}
    finally:
        await host.database.dispose()


async def test_missing_folder_names_the_plugin(make_host, tmp_path):
    host = make_host(("notes", Migrations(tmp_path / "nowhere")), JOBHOST_STRICT_PLUGINS="1")
    with pytest.raises(PluginError, match=r"plugin 'notes'.*migrations folder .*nowhere does not exist"):
        await host.migrate()
