"""The registrations table.

Revision ID: 0001
Revises:
Create Date: 2025-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("email_normalized", sa.String(254), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("experience", sa.String(20), nullable=False),
        sa.Column("role", sa.String(30), nullable=False),
        sa.Column("cloud", sa.String(10), nullable=False),
        sa.Column("cohort", sa.String(40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_registrations"),
        sa.UniqueConstraint("reference", name="uq_registrations_reference"),
        # One registration per address: the database enforces it, so concurrent duplicates cannot slip through.
        sa.UniqueConstraint("email_normalized", name="uq_registrations_email_normalized"),
    )
    op.create_index("ix_registrations_country", "registrations", ["country"])
    op.create_index("ix_registrations_experience", "registrations", ["experience"])


def downgrade() -> None:
    op.drop_table("registrations")
