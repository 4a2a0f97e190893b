"""Shared by the platform tests: the app on a SQLite file (or a PostgreSQL database) with cheap password hashing,
and people using it, each with a test client (cookie jar) of their own."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi.testclient import TestClient
from registration_support import PASSWORD, VALID, password_hash, token

from registration.app import create_app
from registration.config import Config

STUDENT_PASSWORD = "a long student password"
LINK = re.compile(r'/account/password\?link=([A-Za-z0-9_-]{43})')


def platform_app(folder, database_url: str | None = None, expected_answers=None, **overrides):
    config = Config(database_url=database_url or f"sqlite:///{folder / 'platform.db'}", folder=folder,
                    cohorts=("2026", "2027"), password_hash=password_hash(), rate_limit=0, login_rate_limit=1000,
                    student_scrypt_n=2**10, **overrides)
    return create_app(config, expected_answers=expected_answers)


@dataclass
class Student:
    client: TestClient
    email: str
    reference: str
    link: str


def register(app, name: str, email: str, cohort: str = "2026") -> Student:
    """Register through the form; the student's own client, not logged in yet."""
    client = TestClient(app)
    form = {**VALID, "csrf_token": token(client.get("/").text), "name": name, "email": email, "cohort": cohort}
    response = client.post("/register", data=form)
    assert response.status_code == 201, response.text
    reference = re.search(r'id="reference">([^<]+)<', response.text).group(1)
    return Student(client, email, reference, LINK.search(response.text).group(1))


def set_password(student: Student, password: str = STUDENT_PASSWORD, link: str | None = None):
    form = {"csrf_token": token(student.client.get("/account").text), "link": link or student.link,
            "password": password, "password2": password}
    return student.client.post("/account/password", data=form, follow_redirects=False)


def log_in(student: Student, password: str = STUDENT_PASSWORD):
    form = {"csrf_token": token(student.client.get("/account").text), "email": student.email, "password": password}
    return student.client.post("/account/login", data=form, follow_redirects=False)


def student(app, name: str, email: str, cohort: str = "2026") -> Student:
    """Registered, password set, logged in."""
    s = register(app, name, email, cohort)
    assert set_password(s).status_code == 303
    assert log_in(s).status_code == 303
    return s


def instructor(app) -> TestClient:
    client = TestClient(app)
    html = client.get("/instructor").text
    response = client.post("/instructor/login", data={"csrf_token": token(html), "password": PASSWORD},
                           follow_redirects=False)
    assert response.status_code == 303
    return client


def post_form(client: TestClient, path: str, page: str = "/account", **fields):
    """Post a form the way a browser does: the CSRF token from ``page`` (a page the client can open)."""
    return client.post(path, data={"csrf_token": token(client.get(page).text), **fields}, follow_redirects=False)
