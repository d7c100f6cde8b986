"""Hello: the guestbook table.

Revision ID: hello_0001
Revises:
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "hello_0001"
down_revision = None  # the plugin's first revision: its history is its own
branch_labels = ("hello",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hello_greetings",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("greeted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hello_greetings"),
    )
    op.create_index("ix_hello_greetings_name", "hello_greetings", ["name"])


def downgrade() -> None:
    op.drop_table("hello_greetings")
