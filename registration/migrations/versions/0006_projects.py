"""Projects: a cohort's capstone with its deadlines, the students' repositories, and the peer reviews (rubric
points per criterion); a passed project's certificate code.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort", sa.String(40), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("review_deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_projects"),
        sa.UniqueConstraint("cohort", name="uq_projects_cohort"),
    )
    op.create_table(
        "project_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("repo_url", sa.String(300), nullable=False),
        sa.Column("commit", sa.String(40), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("certificate", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE",
                                name="fk_project_submissions_project_id_projects"),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"], ondelete="CASCADE",
                                name="fk_project_submissions_student_id_students"),
        sa.PrimaryKeyConstraint("id", name="pk_project_submissions"),
        sa.UniqueConstraint("project_id", "student_id", name="uq_project_submissions_project_id"),
        sa.UniqueConstraint("certificate", name="uq_project_submissions_certificate"),
    )
    op.create_index("ix_project_submissions_student_id", "project_submissions", ["student_id"])
    op.create_table(
        "project_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=True),
        sa.Column("comment", sa.String(2000), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["submission_id"], ["project_submissions.id"], ondelete="CASCADE",
                                name="fk_project_reviews_submission_id_project_submissions"),
        sa.ForeignKeyConstraint(["reviewer_id"], ["students.id"], ondelete="CASCADE",
                                name="fk_project_reviews_reviewer_id_students"),
        sa.PrimaryKeyConstraint("id", name="pk_project_reviews"),
        sa.UniqueConstraint("submission_id", "reviewer_id", name="uq_project_reviews_submission_id"),
    )
    op.create_index("ix_project_reviews_reviewer_id", "project_reviews", ["reviewer_id"])


def downgrade() -> None:
    op.drop_table("project_reviews")
    op.drop_table("project_submissions")
    op.drop_table("projects")
