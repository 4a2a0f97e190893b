"""Student accounts: one per registration (made for the registrations already there too), their sessions, and
their one-time set-password links and API tokens (hashed).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "students",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=True),
        sa.Column("alias", sa.String(40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["registration_id"], ["registrations.id"], ondelete="CASCADE",
                                name="fk_students_registration_id_registrations"),
        sa.PrimaryKeyConstraint("id", name="pk_students"),
        sa.UniqueConstraint("registration_id", name="uq_students_registration_id"),
        sa.UniqueConstraint("alias", name="uq_students_alias"),
    )
    op.execute("INSERT INTO students (registration_id, created_at) SELECT id, created_at FROM registrations")
    op.create_table(
        "student_sessions",
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"], ondelete="CASCADE",
                                name="fk_student_sessions_student_id_students"),
        sa.PrimaryKeyConstraint("id_hash", name="pk_student_sessions"),
    )
    op.create_index("ix_student_sessions_student_id", "student_sessions", ["student_id"])
    op.create_table(
        "student_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"], ondelete="CASCADE",
                                name="fk_student_tokens_student_id_students"),
        sa.PrimaryKeyConstraint("id", name="pk_student_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_student_tokens_token_hash"),
    )
    op.create_index("ix_student_tokens_student_id", "student_tokens", ["student_id"])


def downgrade() -> None:
    op.drop_table("student_tokens")
    op.drop_table("student_sessions")
    op.drop_table("students")
