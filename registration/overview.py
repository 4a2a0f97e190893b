"""What the instructor's overview pages read: each cohort's numbers (registrations, accounts in use, homework
and project hand-ins) and a search over students with their points."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from .models import (
    Homework,
    HomeworkSubmission,
    Project,
    ProjectSubmission,
    Registration,
    Student,
)


def cohorts(engine: sa.Engine, names: tuple[str, ...]) -> list[dict[str, Any]]:
    """Per cohort (the configured ones, and any other that has registrations): registrations, accounts with a
    password, and per homework and project how many handed in."""
    with engine.connect() as conn:
        registered = dict(conn.execute(sa.select(Registration.cohort, sa.func.count()).group_by(Registration.cohort))
                          .all())
        active = dict(conn.execute(sa.select(Registration.cohort, sa.func.count())
                                   .join(Student, Student.registration_id == Registration.id)
                                   .where(Student.password_hash.is_not(None)).group_by(Registration.cohort)).all())
        homework = conn.execute(sa.select(Homework.cohort, Homework.week, Homework.scored_at,
                                          sa.func.count(HomeworkSubmission.id).label("handed_in"))
                                .outerjoin(HomeworkSubmission, HomeworkSubmission.homework_id == Homework.id)
                                .group_by(Homework.id, Homework.cohort, Homework.week, Homework.scored_at)
                                .order_by(Homework.week)).all()
        projects = dict(conn.execute(sa.select(Project.cohort, sa.func.count(ProjectSubmission.id))
                                     .outerjoin(ProjectSubmission, ProjectSubmission.project_id == Project.id)
                                     .group_by(Project.cohort)).all())
    out = []
    for name in list(names) + sorted(set(registered) - set(names)):
        out.append({"cohort": name, "registered": registered.get(name, 0), "accounts": active.get(name, 0),
                    "homework": [{"week": h.week, "handed_in": h.handed_in, "scored": h.scored_at is not None}
                                 for h in homework if h.cohort == name],
                    "project": projects.get(name)})
    return out


def find_students(engine: sa.Engine, query: str, limit: int = 100) -> list[dict[str, Any]]:
    """Students whose name, email, reference, alias or cohort holds ``query`` (LIKE, wildcards escaped), with
    their homework points and project score."""
    query = query.strip().lower()
    points = (sa.select(HomeworkSubmission.student_id, sa.func.sum(HomeworkSubmission.score).label("points"))
              .group_by(HomeworkSubmission.student_id).subquery())
    select = (sa.select(Registration.reference, Registration.name, Registration.email, Registration.cohort,
                        Student.alias, Student.password_hash.is_not(None).label("has_password"),
                        sa.func.coalesce(points.c.points, 0).label("homework"),
                        ProjectSubmission.score.label("project"), ProjectSubmission.certificate)
              .join(Student, Student.registration_id == Registration.id)
              .outerjoin(points, points.c.student_id == Student.id)
              .outerjoin(ProjectSubmission, ProjectSubmission.student_id == Student.id))
    if query:
        select = select.where(sa.or_(*(sa.func.lower(c).contains(query, autoescape=True) for c in (
            Registration.name, Registration.email_normalized, Registration.reference, Student.alias,
            Registration.cohort))))
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select.order_by(Registration.id).limit(limit))]
