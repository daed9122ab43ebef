"""Staff's answer for a checkout sent with no answer that the ILS cannot tell about.

When the library system lists no full set of the patron's loans, the upload cannot know
whether a checkout sent without an answer arrived, and leaves it for staff. Staff look in
the ILS and answer: `confirmed` (the loan is there: accepted by staff, never sent again) or
`resend` (it is not: the next upload sends it once more, and it becomes `resent`). Who
answered and when are kept for the report; the audit trail has the same.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE uploads ADD COLUMN staff_answer TEXT "
        "CHECK (staff_answer IN ('confirmed', 'resend', 'resent'))"
    )
    op.execute("ALTER TABLE uploads ADD COLUMN staff_by TEXT NOT NULL DEFAULT ''")
    op.execute("ALTER TABLE uploads ADD COLUMN staff_at TEXT")
    # Staff answer only for a checkout sent with no answer; never for one the ILS answered.
    op.execute(
        "CREATE TRIGGER uploads_staff_answer_sent BEFORE UPDATE OF staff_answer ON uploads "
        "WHEN NEW.staff_answer IN ('confirmed', 'resend') "
        "AND NEW.staff_answer IS NOT OLD.staff_answer AND OLD.state != 'sent' BEGIN "
        "SELECT RAISE(ABORT, 'staff answer only for a checkout sent with no answer'); END"
    )


def downgrade() -> None:
    raise NotImplementedError("the spool is never migrated down: that could lose checkouts")
