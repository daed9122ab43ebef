"""Offline periods: a staff "reset" archives the period's checkouts, never deletes them.

A period is a range of checkout sequence numbers. The open period has no last_seq; closing
it (only once every checkout in it was handed over) and opening the next happen in one
transaction. Checkouts of a closed period are removed only by the retention rule, and only
once they were handed over (the checkouts_keep trigger still guards that).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "periods",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("started_at", sa.Text, nullable=False),
        sa.Column("first_seq", sa.Integer, nullable=False),
        sa.Column("ended_at", sa.Text, nullable=True),
        sa.Column("last_seq", sa.Integer, nullable=True),
        sa.Column("archived", sa.Integer, nullable=True),  # checkouts it held when closed
        sa.Column("purged_at", sa.Text, nullable=True),  # the retention rule removed them
        sa.Column("purged", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_checkouts_seq", "checkouts", ["seq"])
    # The period every existing checkout belongs to starts with the spool itself.
    op.execute(
        "INSERT INTO periods (started_at, first_seq) VALUES (COALESCE((SELECT value FROM "
        "spool_info WHERE key = 'created_at'), strftime('%Y-%m-%dT%H:%M:%SZ', 'now')), 1)"
    )
    op.execute(
        "CREATE TRIGGER periods_keep BEFORE DELETE ON periods BEGIN "
        "SELECT RAISE(ABORT, 'an offline period is never deleted'); END"
    )
    op.execute(
        "CREATE TRIGGER periods_closed BEFORE UPDATE OF started_at, first_seq, ended_at, "
        "last_seq, archived ON periods WHEN OLD.last_seq IS NOT NULL BEGIN "
        "SELECT RAISE(ABORT, 'a closed offline period cannot be changed'); END"
    )
    # Closing a period with checkouts not handed over is refused by the database too.
    op.execute(
        "CREATE TRIGGER periods_close_handed_over BEFORE UPDATE OF last_seq ON periods "
        "WHEN NEW.last_seq IS NOT NULL AND EXISTS (SELECT 1 FROM checkouts WHERE "
        "seq BETWEEN OLD.first_seq AND NEW.last_seq AND handed_over_at IS NULL) BEGIN "
        "SELECT RAISE(ABORT, 'a period with checkouts not handed over cannot be closed'); END"
    )


def downgrade() -> None:
    raise NotImplementedError("the spool is never migrated down: that could lose checkouts")
