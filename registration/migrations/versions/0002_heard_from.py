"""The form asks how people heard about the course: a new column, empty (NULL) for earlier registrations.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("registrations") as batch:
        batch.add_column(sa.Column("heard_from", sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("registrations") as batch:
        batch.drop_column("heard_from")
