"""The instructor's sessions are kept on the server, so logging out ends one for good (a signed cookie alone
stayed valid until it expired, 8 hours after login, even when copied before the logout).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instructor_sessions",
        # SHA-256 of the session id in the cookie: the table alone does not let anyone log in.
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name="pk_instructor_sessions"),
    )


def downgrade() -> None:
    op.drop_table("instructor_sessions")
