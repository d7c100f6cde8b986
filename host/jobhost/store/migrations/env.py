"""Alembic environment for jobhost: always run programmatically by `jobhost.store.migrate`,
which hands over an open connection and the history's version table (no alembic.ini, no URL)."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    version_table=context.config.attributes["version_table"],
    # SQLite cannot ALTER most things in place: batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
