"""A cohort's leaderboard: every student with the points of their scored homework (and projects), best first.

Names are the students' own or the alias they chose (``Account.shown_name``); students with no points yet are
listed too, last, so everyone finds themselves."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from .models import Homework, HomeworkSubmission, Project, ProjectSubmission, Registration, Student


def standings(engine: sa.Engine, cohort: str) -> list[dict[str, Any]]:
    """[{rank, name, homework, project, total}], best total first; equal totals share a rank."""
    homework_points = (sa.select(HomeworkSubmission.student_id,
                                 sa.func.sum(HomeworkSubmission.score).label("points"))
                       .join(Homework, Homework.id == HomeworkSubmission.homework_id)
                       .where(Homework.scored_at.is_not(None), Homework.cohort == cohort)
                       .group_by(HomeworkSubmission.student_id).subquery())
    project_points = (sa.select(ProjectSubmission.student_id, ProjectSubmission.score.label("points"))
                      .join(Project, Project.id == ProjectSubmission.project_id)
                      .where(Project.scored_at.is_not(None), Project.cohort == cohort).subquery())
    select = (sa.select(Student.id, sa.func.coalesce(Student.alias, Registration.name).label("name"),
                        sa.func.coalesce(homework_points.c.points, 0).label("homework"),
                        sa.func.coalesce(project_points.c.points, 0).label("project"))
              .join(Registration, Registration.id == Student.registration_id)
              .outerjoin(homework_points, homework_points.c.student_id == Student.id)
              .outerjoin(project_points, project_points.c.student_id == Student.id)
              .where(Registration.cohort == cohort))
    with engine.connect() as conn:
        rows = conn.execute(select).all()
    # A project's score is a median of review totals: a half point stays a half point.
    board = [{"student": row.id, "name": row.name, "homework": int(row.homework), "project": float(row.project),
              "total": int(row.homework) + float(row.project)} for row in rows]
    board.sort(key=lambda r: (-r["total"], r["name"].casefold(), r["student"]))
    rank = 0
    for place, row in enumerate(board, 1):
        if place == 1 or row["total"] != board[place - 2]["total"]:
            rank = place
        row["rank"] = rank
    return board
