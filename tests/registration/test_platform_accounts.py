"""Student accounts through the test client: registering makes one, a one-time link sets its password, login and
logout (revocable sessions), the instructor's reset link, API tokens and the leaderboard alias."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from platform_support import (
    STUDENT_PASSWORD,
    instructor,
    log_in,
    platform_app,
    post_form,
    register,
    set_password,
    student,
)
from registration_support import token

from registration.security import STUDENT_COOKIE


def test_registering_makes_an_account_whose_password_is_set_once_through_its_link(tmp_path):
    app = platform_app(tmp_path)
    ada = register(app, "Ada Lovelace", "ada@example.com")
    assert log_in(ada).status_code == 401  # no password yet: nobody gets in, whatever they type
    assert set_password(ada, "too short").status_code == 400
    mismatch = ada.client.post("/account/password", data={
        "csrf_token": token(ada.client.get("/account").text), "link": ada.link, "password": STUDENT_PASSWORD,
        "password2": STUDENT_PASSWORD + "x"})
    assert mismatch.status_code == 400 and "differ" in mismatch.text
    assert set_password(ada).headers["location"] == "/account?done=password"
    assert set_password(ada, "another long password").status_code == 404  # the link worked once
    stored = app.state.store.accounts.by_email("ada@example.com").password_hash
    assert stored.startswith("scrypt:1024:8:1:") and STUDENT_PASSWORD not in stored

    assert log_in(ada, "a wrong password!").status_code == 401
    assert log_in(ada).status_code == 303
    page = ada.client.get("/account")
    assert "Ada Lovelace" in page.text and 'id="cohort">2026<' in page.text
    app.state.store.close()


def test_logging_out_ends_the_session_even_for_a_copied_cookie(tmp_path):
    app = platform_app(tmp_path)
    ada = student(app, "Ada Lovelace", "ada@example.com")
    copy = TestClient(app, cookies={STUDENT_COOKIE: ada.client.cookies[STUDENT_COOKIE]})
    assert "Make a new token" in copy.get("/account").text
    assert post_form(ada.client, "/account/logout").status_code == 303
    assert "Log in to your course account" in copy.get("/account").text
    forged = TestClient(app, cookies={STUDENT_COOKIE: "9999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA." + "A" * 43})
    assert "Log in to your course account" in forged.get("/account").text
    app.state.store.close()


def test_the_instructors_link_resets_a_forgotten_password_and_logs_out_the_old_sessions(tmp_path):
    app = platform_app(tmp_path)
    ada = student(app, "Ada Lovelace", "ada@example.com")
    assert post_form(TestClient(app), "/instructor/password-link", page="/instructor",
                     reference=ada.reference).headers["location"] == "/instructor"  # not logged in: no link
    made = post_form(instructor(app), "/instructor/password-link", page="/instructor", reference=ada.reference)
    assert made.status_code == 201
    link = made.text.split("link=")[1][:43]
    assert set_password(ada, "a brand new password", link=link).status_code == 303
    assert "Log in to your course account" in ada.client.get("/account").text  # the old session ended
    assert set_password(ada, "again a new password", link=ada.link).status_code == 404  # a newer link replaced it
    assert log_in(ada, STUDENT_PASSWORD).status_code == 401 and log_in(ada, "a brand new password").status_code == 303
    app.state.store.close()


def test_api_tokens_are_shown_once_kept_hashed_and_revocable_by_their_owner_only(tmp_path):
    app = platform_app(tmp_path)
    ada, bob = student(app, "Ada", "ada@example.com"), student(app, "Bob", "bob@example.com")
    made = post_form(ada.client, "/account/tokens")
    secret = made.text.split('id="new-token">')[1].split("<")[0]
    assert made.status_code == 201 and secret.startswith("zc_") and secret not in ada.client.get("/account").text
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'platform.db'}")
    with engine.connect() as conn:
        token_id, stored = conn.execute(sa.text("SELECT id, token_hash FROM student_tokens WHERE kind='api'")).one()
    engine.dispose()
    assert secret not in stored
    assert app.state.store.accounts.token_owner(secret).email == "ada@example.com"
    assert post_form(bob.client, f"/account/tokens/{token_id}/revoke").status_code == 404  # not Bob's to revoke
    assert app.state.store.accounts.token_owner(secret) is not None
    assert post_form(ada.client, f"/account/tokens/{token_id}/revoke").status_code == 303
    assert app.state.store.accounts.token_owner(secret) is None
    for _ in range(5):
        post_form(ada.client, "/account/tokens")
    assert post_form(ada.client, "/account/tokens").status_code == 400  # at most five
    app.state.store.close()


def test_an_alias_is_checked_and_unique(tmp_path):
    app = platform_app(tmp_path)
    ada, bob = student(app, "Ada", "ada@example.com"), student(app, "Bob", "bob@example.com")
    assert post_form(ada.client, "/account/alias", alias="<b>x</b>").status_code == 400
    assert post_form(ada.client, "/account/alias", alias="Night Owl").status_code == 303
    assert post_form(bob.client, "/account/alias", alias="Night Owl").status_code == 409
    assert app.state.store.accounts.by_email("ada@example.com").shown_name == "Night Owl"
    assert post_form(ada.client, "/account/alias", alias="").status_code == 303
    assert app.state.store.accounts.by_email("ada@example.com").shown_name == "Ada"
    app.state.store.close()


def test_account_posts_need_the_csrf_token_and_a_login(tmp_path):
    app = platform_app(tmp_path)
    ada = student(app, "Ada", "ada@example.com")
    assert ada.client.post("/account/tokens", data={"csrf_token": "forged"}).status_code == 403
    stranger = TestClient(app)
    assert post_form(stranger, "/account/tokens").headers["location"] == "/account"
    assert app.state.store.accounts.api_tokens(1) == []
    app.state.store.close()
