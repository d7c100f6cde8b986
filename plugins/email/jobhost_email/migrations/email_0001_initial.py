"""Email: the delivery ledger (accepted messages, claims, failed tries) and the deal-alert watchlists.

Revision ID: email_0001
Revises:
Create Date: 2026-01-01
"""

import sqlalchemy as sa
from alembic import op

revision = "email_0001"
down_revision = None
branch_labels = ("email",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "email_deliveries",
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("recipients", sa.JSON, nullable=False),
        sa.Column("refused", sa.JSON, nullable=False),
        sa.Column("reply", sa.Text, nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name="pk_email_deliveries"),
    )
    op.create_index("ix_email_deliveries_accepted_at", "email_deliveries", ["accepted_at"])
    op.create_table(
        "email_claims",
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("holder", sa.String(255), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name="pk_email_claims"),
    )
    op.create_table(
        "email_failures",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("recipients", sa.JSON, nullable=False),
        sa.Column("reply", sa.Text, nullable=False),
        sa.Column("permanent", sa.Boolean, nullable=False),
        sa.Column("final", sa.Boolean, nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_email_failures"),
    )
    op.create_index("ix_email_failures_message_id", "email_failures", ["message_id"])
    op.create_index("ix_email_failures_failed_at", "email_failures", ["failed_at"])

    op.create_table(
        "email_watchlists",
        sa.Column("user_id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("keywords", sa.JSON, nullable=False),
        sa.Column("alerts", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_email_watchlists"),
    )


def downgrade() -> None:
    op.drop_table("email_watchlists")
    op.drop_table("email_failures")
    op.drop_table("email_claims")
    op.drop_table("email_deliveries")
