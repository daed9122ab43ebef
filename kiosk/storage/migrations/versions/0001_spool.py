"""The first spool: checkouts, exports, settings and the sequence counter.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spool_info",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "checkouts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("txn_id", sa.Text, nullable=False, unique=True),
        sa.Column("kiosk_id", sa.Text, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("occurred_at", sa.Text, nullable=False),
        sa.Column("patron", sa.Text, nullable=False),
        sa.Column("item", sa.Text, nullable=False),
        sa.Column("due_date", sa.Text, nullable=False),
        sa.Column("special_due", sa.Boolean, nullable=False),
        sa.Column("session_id", sa.Text, nullable=False),
        sa.Column("handed_over_at", sa.Text, nullable=True),
        sa.UniqueConstraint("kiosk_id", "seq", name="uq_checkouts_kiosk_seq"),
    )
    op.create_index(
        "ix_checkouts_outstanding",
        "checkouts",
        ["patron"],
        sqlite_where=sa.text("handed_over_at IS NULL"),
    )
    op.create_table(
        "exports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("exported_at", sa.Text, nullable=False),
        sa.Column("format", sa.Text, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("checkouts", sa.Integer, nullable=False),
    )
    op.create_table(
        "export_checkouts",
        sa.Column("export_id", sa.Integer, sa.ForeignKey("exports.id"), primary_key=True),
        sa.Column("checkout_id", sa.Integer, sa.ForeignKey("checkouts.id"), primary_key=True),
    )
    op.create_table(
        "counters",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
    )
    op.execute("INSERT INTO counters (name, value) VALUES ('checkout_seq', 0)")
    op.create_table(
        "settings",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    # The spool's promises, kept by the database itself and not only by our code.
    op.execute(
        "CREATE TRIGGER checkouts_keep BEFORE DELETE ON checkouts "
        "WHEN OLD.handed_over_at IS NULL BEGIN "
        "SELECT RAISE(ABORT, 'a checkout that was not handed over cannot be deleted'); END"
    )
    op.execute(
        "CREATE TRIGGER checkouts_fixed BEFORE UPDATE OF txn_id, kiosk_id, seq, occurred_at, "
        "patron, item, due_date, special_due, session_id ON checkouts BEGIN "
        "SELECT RAISE(ABORT, 'a recorded checkout cannot be changed'); END"
    )


def downgrade() -> None:
    raise NotImplementedError("the spool is never migrated down: that could lose checkouts")
