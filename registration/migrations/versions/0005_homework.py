"""Homework: a week's questions opened for a cohort with a deadline, and the students' submissions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "homeworks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort", sa.String(40), nullable=False),
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("expected", sa.JSON(), nullable=True),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_homeworks"),
        sa.UniqueConstraint("cohort", "week", name="uq_homeworks_cohort"),
    )
    op.create_table(
        "homework_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("homework_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("time_spent", sa.Float(), nullable=True),
        sa.Column("comments", sa.String(2000), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("correct", sa.Integer(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["homework_id"], ["homeworks.id"], ondelete="CASCADE",
                                name="fk_homework_submissions_homework_id_homeworks"),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"], ondelete="CASCADE",
                                name="fk_homework_submissions_student_id_students"),
        sa.PrimaryKeyConstraint("id", name="pk_homework_submissions"),
        sa.UniqueConstraint("homework_id", "student_id", name="uq_homework_submissions_homework_id"),
    )
    op.create_index("ix_homework_submissions_student_id", "homework_submissions", ["student_id"])


def downgrade() -> None:
    op.drop_table("homework_submissions")
    op.drop_table("homeworks")
