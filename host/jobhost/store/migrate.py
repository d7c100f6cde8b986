"""Versioned schema migrations (Alembic), run in code: operators need no alembic.ini.

The host's migrations and each enabled plugin's (the folders it registers with
`register_migrations`) are separate histories, each with its own version table
(`alembic_version`, `alembic_version_<plugin>`). A plugin's first migration has
`down_revision = None`; the host's tables are migrated first, so a plugin table may refer to
`users`. Separate tables mean a plugin that is later disabled leaves its tables and version
behind without breaking the others' upgrades (one shared table would hold a revision nobody
can resolve), and an error always names the plugin whose migration failed.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

if TYPE_CHECKING:
    from jobhost.store.database import Database

SCRIPTS = Path(__file__).parent / "migrations"
HOST = "jobhost"


class MigrationError(RuntimeError):
    """A migration could not run; the message names the plugin and what to do."""


@attrs.frozen
class History:
    """The migrations of the host or of one plugin, and the table recording how far they got."""

    name: str
    folders: tuple[str, ...]

    @property
    def owner(self) -> str:
        return "the host" if self.name == HOST else f"plugin {self.name!r}"

    @property
    def version_table(self) -> str:
        return "alembic_version" if self.name == HOST else f"alembic_version_{self.name}"

    def config(self, connection: Any = None) -> Config:
        config = Config()
        config.set_main_option("script_location", str(SCRIPTS))
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", os.pathsep.join(self.folders))
        config.attributes["connection"] = connection
        config.attributes["version_table"] = self.version_table
        return config

    def scripts(self) -> ScriptDirectory:
        for folder in self.folders:
            if not Path(folder).is_dir():
                raise MigrationError(f"{self.owner}: migrations folder {folder} does not exist")
        try:
            with warnings.catch_warnings():  # alembic warns, then fails; the error says it all
                warnings.simplefilter("ignore")
                scripts = ScriptDirectory.from_config(self.config())
                scripts.get_heads()
        except Exception as exc:  # plugin files: any import or history error
            raise MigrationError(
                f"{self.owner}: its migrations do not form a valid history ({type(exc).__name__}: {exc}); "
                "check each revision's down_revision and that every file imports"
            ) from None
        return scripts


def _upgrade(sync: Any, history: History) -> None:
    command.upgrade(history.config(sync), "heads")


def _heads(sync: Any, history: History) -> tuple[str, ...]:
    context = MigrationContext.configure(sync, opts={"version_table": history.version_table})
    return tuple(context.get_current_heads())


def host_history() -> History:
    return History(HOST, (str(SCRIPTS / "versions"),))


async def upgrade(database: Database, histories: Sequence[History]) -> dict[str, tuple[str, ...]]:
    """Bring each history's tables to their newest version (the host's first), each in its own
    transaction. Returns the revisions each history is at."""
    for history in histories:
        history.scripts()  # a broken folder fails before anything runs
    await database.ping(timeout=10)  # an unreachable database is not a migration's fault
    for history in histories:
        try:
            async with database.engine.begin() as conn:
                await conn.run_sync(_upgrade, history)
        except Exception as exc:
            reason = getattr(exc, "orig", None) or exc
            raise MigrationError(
                f"{history.owner}: migration failed: {type(reason).__name__}: {reason}"
            ) from exc
    return await current(database, histories)


def applied(history: History, before: Sequence[str], after: Sequence[str]) -> list[str]:
    """The revisions an upgrade from `before` to `after` applied, oldest first."""
    if tuple(before) == tuple(after):
        return []
    steps = history.scripts().iterate_revisions(tuple(after), tuple(before) or "base")
    return [script.revision for script in reversed(list(steps))]


async def current(database: Database, histories: Sequence[History]) -> dict[str, tuple[str, ...]]:
    """The revisions each history's tables are at (empty: never migrated)."""
    at = {}
    async with database.engine.connect() as conn:
        for history in histories:
            at[history.name] = await conn.run_sync(_heads, history)
    return at
