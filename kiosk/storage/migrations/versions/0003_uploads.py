"""SIP2 upload state: what the library system was sent and what it answered, per checkout.

A checkout with no row here was never sent. `sent` means sent and not answered yet (the next
run resolves it before anything is sent again); `accepted` is final; `rejected` keeps the
ILS's message for staff. Each upload run is recorded for the report.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("checkout_id", sa.Integer, sa.ForeignKey("checkouts.id"), primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("sent_at", sa.Text, nullable=True),
        sa.Column("answered_at", sa.Text, nullable=True),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("ils_due", sa.Text, nullable=False, server_default=""),
        sa.CheckConstraint("state IN ('sent', 'accepted', 'rejected')", name="ck_upload_state"),
    )
    op.execute(
        "CREATE TRIGGER uploads_accepted_final BEFORE UPDATE ON uploads "
        "WHEN OLD.state = 'accepted' BEGIN "
        "SELECT RAISE(ABORT, 'a checkout the library system accepted is never sent again'); END"
    )
    op.create_table(
        "upload_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("started_at", sa.Text, nullable=False),
        sa.Column("finished_at", sa.Text, nullable=True),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("accepted", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rejected", sa.Integer, nullable=False, server_default="0"),
        sa.Column("still_pending", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
    )


def downgrade() -> None:
    raise NotImplementedError("the spool is never migrated down: that could lose checkouts")
