"""The registration app through FastAPI's test client: the form, validation, duplicates, the security measures
(CSRF, escaping, parameterized SQL, honeypot, rate limit, headers), the instructor page, settings and migrations.

The load, restart and browser tests against a real server are in test_registration_server.py and
test_registration_browser.py.
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
import unicodedata

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from in_process import zoomcamp
from registration_support import PASSWORD, VALID, count_rows, password_hash, postgres_url, token

from registration import forms
from registration.app import create_app
from registration.config import Config, RegistrationError
from registration.security import SECURITY_HEADERS, RateLimiter, Signer, hash_password, verify_password
from registration.store import Base, Store, alembic_config
from zoomcamp.settings import load_settings
from zoomcamp.stack import free_port

XSS = '<script>alert("xss")</script><img src=x onerror=alert(1)>'
SQLI = "Robert'); DROP TABLE registrations;--"


@pytest.fixture
def make_client(tmp_path):
    """Build the app on a SQLite file of its own; ``make_client(rate_limit=3)`` changes the config."""
    clients = []

    def make(**overrides) -> TestClient:
        config = Config(database_url=f"sqlite:///{tmp_path / 'registration.db'}", folder=tmp_path,
                        cohorts=("2026", "2027"), password_hash=password_hash(), rate_limit=0)
        config = Config(**{**config.__dict__, **overrides})
        client = TestClient(create_app(config))
        client.url = config.database_url
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.app.state.store.close()


@pytest.fixture
def client(make_client):
    return make_client()


def submit(client: TestClient, **changes):
    """Open the form (cookie + token), then post it with ``changes`` (None drops a field)."""
    form = {"csrf_token": token(client.get("/").text), **VALID, **changes}
    return client.post("/register", data={k: v for k, v in form.items() if v is not None})


def rows(client: TestClient) -> list[dict]:
    engine = sa.create_engine(client.url)
    with engine.connect() as conn:
        result = [dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM registrations ORDER BY id"))]
    engine.dispose()
    return result


def login(client: TestClient, password: str = PASSWORD):
    html = client.get("/instructor").text
    return client.post("/instructor/login", data={"csrf_token": token(html), "password": password},
                       follow_redirects=False)


# --- the form ----------------------------------------------------------------------------------------

def test_the_form_has_every_field_with_a_label_and_a_csrf_token(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.text
    for field in ("name", "email", "country", "timezone", "role", "heard_from", "cohort", "consent"):
        assert f'<label for="{field}">' in html and f'id="{field}"' in html
    for field, values in (("experience", forms.EXPERIENCE), ("cloud", forms.CLOUDS)):
        assert f'<fieldset id="{field}"' in html
        for value in values:
            assert f'<label for="{field}-{value}">' in html
    assert '<option value="2027">2027</option>' in html
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/form.js" defer>']  # no inline code
    assert len(token(html)) >= 40
    cookie = response.headers["set-cookie"].lower()
    assert "zc_csrf=" in cookie and "httponly" in cookie and "samesite=lax" in cookie


def test_a_registration_is_stored_and_confirmed_with_an_id(client):
    response = submit(client, name="  Ada   Lovelace ", email="  Ada@Example.COM ")
    assert response.status_code == 201
    assert "You are registered" in response.text
    [row] = rows(client)
    assert row["reference"] in response.text and row["reference"].startswith("ZC-")
    assert (row["name"], row["email"], row["email_normalized"]) == ("Ada Lovelace", "Ada@Example.COM",
                                                                     "ada@example.com")
    assert {k: row[k] for k in ("country", "timezone", "experience", "role", "cloud", "heard_from", "cohort")} == {
        k: VALID[k] for k in ("country", "timezone", "experience", "role", "cloud", "heard_from", "cohort")}


def test_the_same_email_twice_is_already_registered(client):
    assert submit(client, email="grace@example.com").status_code == 201
    again = submit(client, email="  GRACE@example.com  ", name="Someone Else")
    assert again.status_code == 200 and "already registered" in again.text
    assert [r["name"] for r in rows(client)] == ["Ada Lovelace"]


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"name": "   "}, "name", "Enter your name"),
    ({"name": "x" * 101}, "name", "at most 100"),
    ({"name": "Ada\x00Lovelace"}, "name", "cannot be shown"),
    ({"name": "Ada \u202eecalevoL"}, "name", "cannot be shown"),
    ({"email": None}, "email", "Enter your email"),
    ({"email": "ada"}, "email", "like name@example.com"),
    ({"email": "ada@example"}, "email", "like name@example.com"),
    ({"email": "ada@@example.com"}, "email", "like name@example.com"),
    ({"email": "ada lovelace@example.com"}, "email", "like name@example.com"),
    ({"email": "a" * 65 + "@example.com"}, "email", "like name@example.com"),
    ({"email": "ada@" + "e" * 250 + ".com"}, "email", "like name@example.com"),
    ({"country": "XX"}, "country", "Choose your country"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone", "time zone"),
    ({"country": "US"}, "timezone", "Europe/London is in United Kingdom, not in United States: choose a time zone of "
                                    "United States (America/New_York, "),
    ({"experience": "guru"}, "experience", "experience level"),
    ({"role": "ceo"}, "role", "closest to yours"),
    ({"cloud": "oracle"}, "cloud", "Choose a cloud"),
    ({"heard_from": "tv"}, "heard_from", "heard about"),
    ({"cohort": "1999"}, "cohort", "Choose a cohort"),
    ({"consent": None}, "consent", "Tick the box"),
    ({"consent": "no"}, "consent", "Tick the box"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_every_field_is_checked_on_the_server(client, changes, field, message):
    response = submit(client, **changes)
    assert response.status_code == 400
    html = response.text
    assert message in html and f'id="{field}-error"' in html and f'href="#{field}"' in html
    assert rows(client) == []
    if field != "name":  # what was typed is kept
        assert 'value="Ada Lovelace"' in html


def test_countries_are_named_as_people_name_them_and_a_time_zone_must_be_the_countrys(client):
    names = forms.countries()
    assert names["GB"] == "United Kingdom" and names["KR"] == "South Korea" and names["US"] == "United States"
    assert "Britain (UK)" not in names.values() and len(names) >= 249
    assert list(names.values()) == sorted(  # Åland and Côte d'Ivoire where their letters are, not after Zimbabwe
        names.values(), key=lambda n: unicodedata.normalize("NFKD", n).encode("ascii", "ignore").lower())
    # Each country carries its zones, for form.js to narrow the time-zone list to them (test_registration_browser).
    assert '<option value="GB" data-zones="Europe/London">United Kingdom</option>' in client.get("/").text
    # The time zone goes with the country: any of its own, or UTC; another country's is refused (see the cases in
    # test_every_field_is_checked_on_the_server); a zone of no country in the tz database (an old name) is taken.
    for country, zone in (("DE", "Europe/Berlin"), ("DE", "UTC"), ("US", "America/Los_Angeles"),
                          ("IN", "Asia/Calcutta"), ("NL", "Europe/Amsterdam")):
        assert forms.zone_mismatch(country, zone) is None, (country, zone)
    assert "France" in forms.zone_mismatch("DE", "Europe/Paris")
    assert set(forms.country_zones()["US"]) < set(forms.timezones())  # every zone of a country is on the list


def test_several_errors_are_listed_together_and_typed_values_are_kept(client):
    html = submit(client, email="nope", country="", consent=None).text
    assert "Please correct 3 fields" in html
    assert 'value="nope"' in html
    assert 'id="cloud-gcp" name="cloud" value="gcp" required checked' in html


@pytest.mark.parametrize("email", ["a@b.co", "first.last+course@sub.example.org", "o'brien@example.ie",
                                   "x_y-z@example-mail.com"])
def test_ordinary_addresses_are_accepted(email):
    assert forms.email_is_valid(email)


# --- security ----------------------------------------------------------------------------------------

def test_an_xss_payload_is_stored_as_text_and_shown_inert(client):
    response = submit(client, name=XSS)
    assert response.status_code == 201
    assert rows(client)[0]["name"] == " ".join(XSS.split())  # stored exactly (spaces normalised)
    assert "<script>" not in response.text and "<img src=x" not in response.text
    assert "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;" in response.text
    login(client)
    page = client.get("/instructor").text
    assert "<script>" not in page and "&lt;script&gt;" in page
    # And the search box echoes a payload inert too.
    assert "<script>" not in client.get("/instructor", params={"q": "<script>"}).text


def test_an_sql_injection_payload_is_stored_as_text(client):
    assert submit(client, name=SQLI, email="bobby@example.com").status_code == 201
    assert submit(client, email="second@example.com").status_code == 201
    assert [r["name"] for r in rows(client)] == [SQLI, "Ada Lovelace"]  # the table is still there
    login(client)
    page = client.get("/instructor", params={"q": "' OR '1'='1"}).text
    assert "0 registrations" in page
    assert "1 registration " in client.get("/instructor", params={"q": "DROP TABLE"}).text


def test_search_wildcards_are_literal(client):
    submit(client, name="Ada Lovelace", email="ada@example.com")
    submit(client, name="Alan 100% Turing", email="alan@example.com")
    login(client)
    assert "1 registration matching" in client.get("/instructor", params={"q": "%"}).text
    assert "0 registrations matching" in client.get("/instructor", params={"q": "_"}).text


@pytest.mark.parametrize("case", ["no token", "wrong token", "token of another cookie", "token of another key",
                                  "no cookie", "other origin"])
def test_a_post_without_a_valid_csrf_token_is_refused(client, case):
    html = client.get("/")
    form = {**VALID, "csrf_token": token(html.text)}
    headers = {}
    if case == "no token":
        del form["csrf_token"]
    elif case == "wrong token":
        form["csrf_token"] = form["csrf_token"][:-2] + "AA"
    elif case == "token of another cookie":  # a genuine token, but not for this visitor's cookie
        client.cookies.clear()
        client.cookies.set("zc_csrf", Signer.new_csrf_cookie())
    elif case == "token of another key":
        form["csrf_token"] = Signer(b"x" * 64).csrf_token(client.cookies["zc_csrf"])
    elif case == "no cookie":
        client.cookies.clear()
    else:
        headers["Origin"] = "http://evil.example"
    response = client.post("/register", data=form, headers=headers)
    assert response.status_code == 403 and "expired or was not sent from this site" in response.text
    assert rows(client) == []


def test_the_same_origin_is_accepted(client):
    form = {**VALID, "csrf_token": token(client.get("/").text)}
    assert client.post("/register", data=form, headers={"Origin": "http://testserver"}).status_code == 201


def test_malformed_bodies_are_refused(client):
    tok = token(client.get("/").text)
    assert client.post("/register", json={**VALID, "csrf_token": tok}).status_code == 415
    big = {**VALID, "csrf_token": tok, "name": "x" * 20_000}
    assert client.post("/register", data=big).status_code == 413
    bad_utf8 = b"name=%FF%FE&csrf_token=" + tok.encode()
    response = client.post("/register", content=bad_utf8,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400
    assert rows(client) == []


def test_the_honeypot_catches_bots(client):
    response = submit(client, website="http://spam.example")
    assert response.status_code == 400 and "looked automated" in response.text
    assert rows(client) == []


def test_submissions_are_rate_limited_per_ip(make_client):
    client = make_client(rate_limit=3)
    statuses = [submit(client, email=f"p{i}@example.com").status_code for i in range(5)]
    assert statuses == [201, 201, 201, 429, 429]
    limited = submit(client, email="p9@example.com")
    assert int(limited.headers["Retry-After"]) >= 1 and "Too many submissions" in limited.text
    assert len(rows(client)) == 3


def test_behind_a_proxy_x_forwarded_for_counts_only_from_the_proxy(tmp_path):
    """With --behind-proxy, a client that reaches the app directly used to pick its own rate-limit key."""
    config = Config(database_url=f"sqlite:///{tmp_path / 'registration.db'}", folder=tmp_path, cohorts=("2026",),
                    rate_limit=2)
    secret = config.proxy_secret()
    assert oct((tmp_path / "proxy_secret").stat().st_mode & 0o777) == oct(0o600)
    client = TestClient(create_app(config, proxy_secret=secret))
    try:
        def post(n: int, **headers) -> int:
            html = client.get("/").text
            return client.post("/register", headers=headers, data={
                "csrf_token": token(html), **VALID, "email": f"x{n}{len(headers)}@example.com"}).status_code

        # Directly, with a different X-Forwarded-For each time: one client all the same.
        direct = [post(i, **{"X-Forwarded-For": f"10.0.0.{i}"}) for i in range(3)]
        assert direct == [201, 201, 429]
        # A wrong secret is no proxy either.
        assert post(9, **{"X-Forwarded-For": "10.0.1.9", "X-Zoomcamp-Proxy": "guess"}) == 429
        # Through the proxy (the secret): each forwarded address is its own client, the last entry counts.
        through = [post(i, **{"X-Forwarded-For": f"6.6.6.6, 10.0.2.{i}", "X-Zoomcamp-Proxy": secret})
                   for i in range(3)]
        assert through == [201, 201, 201]
        spoofed_first_entry = [post(10 + i, **{"X-Forwarded-For": f"10.0.3.{i}, 10.0.2.0",
                                               "X-Zoomcamp-Proxy": secret}) for i in range(2)]
        assert spoofed_first_entry == [201, 429]  # 10.0.2.0 (what the proxy saw) had one before: its third is 429
    finally:
        client.app.state.store.close()


def test_the_rate_limiter_slides_and_counts_each_address_apart():
    limiter = RateLimiter(2, window=60)
    assert [limiter.hit("a", now=t) for t in (0, 1)] == [0, 0]
    assert limiter.hit("a", now=2) == 58  # the first hit leaves the window at t=60
    assert limiter.hit("b", now=2) == 0
    assert limiter.hit("a", now=60.5) == 0
    assert RateLimiter(0).hit("a") == 0  # 0 = no limit
    small = RateLimiter(1, window=10, max_keys=3)
    for i in range(10):
        small.hit(f"ip{i}", now=i * 20)
    assert len(small._hits) <= 3  # idle addresses are forgotten


def test_every_response_has_the_security_headers(client):
    for response in (client.get("/"), client.get("/health"), client.get("/static/style.css"), submit(client),
                     client.get("/instructor"), client.get("/nowhere")):
        for name, value in SECURITY_HEADERS:
            assert response.headers[name.decode()] == value.decode(), (response.url, name)
    csp = client.get("/").headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert client.get("/").headers["cache-control"] == "no-store"
    assert client.get("/docs").status_code == 404 and client.get("/openapi.json").status_code == 404


# --- the instructor page ---------------------------------------------------------------------------------

def test_without_a_password_hash_the_instructor_page_is_off_and_says_how_to_set_it(make_client):
    client = make_client(password_hash=None)
    for response in (client.get("/instructor"), client.get("/instructor/export.csv"),
                     client.post("/instructor/login", data={"password": ""})):
        assert response.status_code == 503
        assert "zoomcamp registration hash-password" in response.text
        assert "ZOOMCAMP_REGISTRATION_PASSWORD_HASH" in response.text
    assert client.get("/health").json()["instructor_page"] == "off"


def test_the_instructor_logs_in_and_sees_searches_and_exports(client):
    submit(client, name="Ada Lovelace", email="ada@example.com")
    submit(client, name="Grace Hopper", email="grace@example.com", country="US", timezone="America/New_York",
           experience="advanced")
    submit(client, name="=HYPERLINK(\"http://evil\")", email="formula@example.com")
    assert "Instructor login" in client.get("/instructor").text  # not logged in yet
    assert login(client, "wrong password!").status_code == 401
    response = login(client)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"].lower()
    assert "zc_instructor=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert "path=/instructor" in cookie

    page = client.get("/instructor").text
    assert "Registrations <span class=\"count\">(3)</span>" in page
    assert "Grace Hopper" in page and "Ada Lovelace" in page
    assert page.count('<rect class="bar"') == 2 + 2  # countries GB, US; experience levels 2
    assert "United States" in page and "United Kingdom" in page

    found = client.get("/instructor", params={"q": "hopper"}).text
    assert "Grace Hopper" in found and "Ada Lovelace" not in found and "1 registration " in found

    export = client.get("/instructor/export.csv")
    assert export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(export.text)))
    assert [r["email"] for r in table] == ["ada@example.com", "grace@example.com", "formula@example.com"]
    assert table[1]["country"] == "US" and table[1]["experience"] == "advanced"
    assert table[2]["name"] == "'=HYPERLINK(\"http://evil\")"  # a spreadsheet will not run it
    only = list(csv.DictReader(io.StringIO(client.get("/instructor/export.csv", params={"q": "grace"}).text)))
    assert [r["name"] for r in only] == ["Grace Hopper"]

    out = client.post("/instructor/logout", data={"csrf_token": token(page)}, follow_redirects=False)
    assert out.status_code == 303
    assert "Instructor login" in client.get("/instructor").text
    assert client.get("/instructor/export.csv", follow_redirects=False).status_code == 303


def test_the_instructor_page_is_paged(client):
    for i in range(55):
        submit(client, email=f"p{i}@example.com", name=f"Person {i:02d}")
    login(client)
    first = client.get("/instructor").text
    assert "Page 1 of 2" in first and "Person 54" in first and "Person 04" not in first
    second = client.get("/instructor", params={"page": 2}).text
    assert "Person 04" in second and "Person 54" not in second


def test_forged_or_expired_instructor_cookies_are_refused(client):
    signer = Signer(client.app.state.config.secret_key())
    stale = signer.session_cookie(password_hash(), now=1_000_000)
    other_key = Signer(b"y" * 64).session_cookie(password_hash())
    other_password = signer.session_cookie(hash_password("another long password", n=2**14))
    # A correctly signed cookie that no login opened on the server (a leaked key could make those) opens nothing.
    never_opened = signer.session_cookie(password_hash())
    for cookie in (stale, other_key, other_password, never_opened, "9999999999.abc", "garbage"):
        client.cookies.set("zc_instructor", cookie, path="/instructor")
        assert "Instructor login" in client.get("/instructor").text, cookie
        client.cookies.clear()
    assert login(client).status_code == 303
    assert "Registrations" in client.get("/instructor").text


@pytest.mark.parametrize("cookie", [
    "²³.abc",  # str.isdigit() says yes, int() says no: this was a 500 with a traceback
    "9" * 5000 + ".abc",  # more digits than int() converts
    "1" * 12 + "." + "a" * 20 + "." + "é" * 43, "\u00b9.x.y", "...", ".", "-1.a.b", "1.a.b.c",
])
def test_a_malformed_instructor_cookie_is_the_login_page_not_an_error(client, cookie):
    html = client.get("/instructor").text  # the CSRF cookie, for the logout below
    # Sent as raw bytes (Latin-1, as servers read headers): "²" is the byte 0xb2 on the wire.
    header = [(b"cookie", f"zc_csrf={client.cookies['zc_csrf']}; zc_instructor={cookie}".encode("latin-1", "replace"))]
    response = client.get("/instructor", headers=header)
    assert response.status_code == 200 and "Instructor login" in response.text
    assert client.get("/instructor/export.csv", headers=header, follow_redirects=False).status_code == 303
    logout = client.post("/instructor/logout", headers=header, data={"csrf_token": token(html)},
                         follow_redirects=False)
    assert logout.status_code == 303


def test_logging_out_ends_the_session_even_for_a_copied_cookie(client):
    submit(client)
    assert login(client).status_code == 303
    copied = client.cookies.get("zc_instructor")
    assert "Registrations" in client.get("/instructor").text
    html = client.get("/instructor").text
    assert client.post("/instructor/logout", data={"csrf_token": token(html)}, follow_redirects=False
                       ).status_code == 303
    client.cookies.set("zc_instructor", copied, path="/instructor")  # as a thief who copied it would
    assert "Instructor login" in client.get("/instructor").text
    assert client.get("/instructor/export.csv", follow_redirects=False).status_code == 303
    # Another login is a new session; the old cookie stays dead.
    client.cookies.clear()
    assert login(client).status_code == 303 and "Registrations" in client.get("/instructor").text
    client.cookies.clear()
    client.cookies.set("zc_instructor", copied, path="/instructor")
    assert "Instructor login" in client.get("/instructor").text


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.stack)])
def test_a_nul_byte_in_the_instructor_search_is_refused(make_client, tmp_path, kind):
    url = f"sqlite:///{tmp_path / 'registration.db'}" if kind == "sqlite" else postgres_url("registration_test_nul")
    client = make_client(database_url=url)
    submit(client)
    login(client)
    for path in ("/instructor", "/instructor/export.csv"):
        response = client.get(path, params={"q": "ada\x00"})
        assert response.status_code == 400 and "NUL" in response.text, (path, response.status_code)
    assert "Ada Lovelace" in client.get("/instructor", params={"q": "ada"}).text


def test_at_most_two_password_checks_run_at_once(make_client, monkeypatch):
    """30 parallel logins (scrypt: 128 MiB each, so 4 GB at once before) hash two at a time."""
    import threading
    import time as time_

    import registration.app as app_module

    running, most, lock = 0, 0, threading.Lock()
    real = app_module.verify_password

    def counting(password, stored):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            time_.sleep(0.02)  # long enough for the threads to overlap
            # scrypt itself only for the right password: 29 wrong ones cost 1.5 CPU-s and prove nothing more here
            return password == PASSWORD and real(password, stored)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(app_module, "verify_password", counting)
    client = make_client(login_rate_limit=1000)
    html = client.get("/instructor").text
    csrf = token(html)

    def attempt(i):
        return client.post("/instructor/login", data={"csrf_token": csrf, "password": PASSWORD if i == 0 else "no"},
                           follow_redirects=False).status_code

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(30) as pool:
        statuses = list(pool.map(attempt, range(30)))
    assert most == 2, most
    assert sorted(statuses) == [303] + [401] * 29


def test_the_sqlite_database_and_its_wal_are_private(make_client, tmp_path):
    db_file = tmp_path / "registration.db"
    client = make_client()
    submit(client)
    files = [db_file, tmp_path / "registration.db-wal", tmp_path / "registration.db-shm"]
    assert all(f.exists() for f in files)
    assert {f.name: oct(f.stat().st_mode & 0o777) for f in files} == {f.name: "0o600" for f in files}
    # A database made before this, world-readable, is closed when the app starts.
    client.app.state.store.close()  # SQLite removes the -wal and -shm files with its last connection
    db_file.chmod(0o644)
    again = make_client()
    submit(again, email="grace@example.com")
    assert {f.name: oct(f.stat().st_mode & 0o777) for f in files} == {f.name: "0o600" for f in files}
    assert len(rows(again)) == 2


def test_login_needs_a_csrf_token_and_is_rate_limited(client):
    assert client.post("/instructor/login", data={"password": PASSWORD}).status_code == 403
    statuses = [login(client, "not the password").status_code for _ in range(10)]
    assert statuses == [401] * 9 + [429]  # the refused login above counted too
    assert login(client).status_code == 429  # even the right password waits now


def test_health_reports_the_database_and_schema(client):
    assert client.get("/health").json() == {"status": "ok", "database": "ok", "schema": "0006",
                                            "instructor_page": "on"}


# --- passwords, settings, CLI -----------------------------------------------------------------------------

def test_password_hashes_verify_and_are_salted():
    first, second = hash_password(PASSWORD, n=2**14), hash_password(PASSWORD, n=2**14)
    assert first != second and first.startswith("scrypt:16384:8:1:")
    assert verify_password(PASSWORD, first) and not verify_password(PASSWORD + "!", first)
    with pytest.raises(RegistrationError, match="at least 12"):
        hash_password("short")
    with pytest.raises(RegistrationError, match="hash-password"):
        Config(database_url="sqlite://", folder=os.getcwd(), cohorts=("2026",), password_hash="root")


def test_hash_password_command(tmp_path):
    result = zoomcamp("registration", "hash-password", "--stdin", input=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    hashed = result.stdout.strip()
    assert hashed.startswith(f"scrypt:{2**17}:8:1:") and verify_password(PASSWORD, hashed)
    assert "ZOOMCAMP_REGISTRATION_PASSWORD_HASH" in result.stderr and "[registration]" in result.stderr


def test_settings_come_from_a_registration_table_and_the_environment(tmp_path):
    config_file = tmp_path / "zoomcamp.toml"
    config_file.write_text('[registration]\ncohorts = ["2026", "2027 (self-paced)"]\nrate_limit = 5\n'
                           'database_url = "postgresql+psycopg2://u:secret@127.0.0.1/reg"\n')
    settings = load_settings(environ={"ZOOMCAMP_REGISTRATION_RATE_LIMIT": "7"}, config=config_file)
    config = Config.from_settings(settings)
    assert config.cohorts == ("2026", "2027 (self-paced)")
    assert config.rate_limit == 7 and config.password_hash is None
    assert config.database_url == "postgresql+psycopg2://u:secret@127.0.0.1/reg"
    default = Config.from_settings(load_settings(environ={}, config=tmp_path / "missing.toml"))
    assert default.password_hash is None  # never a default password
    assert default.database_url.endswith("/registration/registration.db") and default.cohorts == ("2026",)
    shown = zoomcamp("settings", ZOOMCAMP_CONFIG=str(config_file), ZOOMCAMP_REGISTRATION_PASSWORD_HASH=password_hash())
    assert "secret" not in shown.stdout and password_hash()[20:] not in shown.stdout
    assert "u:***@127.0.0.1" in shown.stdout


def test_the_secret_key_is_made_once_and_kept_private(tmp_path):
    config = Config(database_url="sqlite://", folder=tmp_path / "reg", cohorts=("2026",))
    key = config.secret_key()
    assert config.secret_key() == key and len(key) == 64
    assert stat.S_IMODE((tmp_path / "reg" / "secret_key").stat().st_mode) == 0o600


@pytest.mark.parametrize(("url", "message"), [("not a url", "not a database URL"),
                                            ("mysql+nodriver://x@127.0.0.1/db", "no driver"),
                                            ("postgresql+psycopg2://u:pw@127.0.0.1:1/db", "cannot use")])
def test_a_bad_database_url_is_a_clear_error(url, message):
    with pytest.raises(RegistrationError, match=message) as error:
        Store(url).migrate()
    assert ":pw@" not in str(error.value)  # the password stays hidden


def test_the_cli_says_it_in_one_line(tmp_path):
    result = zoomcamp("registration", "serve", "--port", str(free_port()), ZOOMCAMP_HOME=str(tmp_path),
                      ZOOMCAMP_REGISTRATION_DATABASE_URL="postgresql+psycopg2://u:pw@127.0.0.1:1/db")
    assert result.returncode == 2 and result.stderr.startswith("error: cannot use the registration database")
    assert "Traceback" not in result.stderr and ":pw@" not in result.stderr


# --- migrations --------------------------------------------------------------------------------------------

def _database(kind: str, tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'migrate.db'}" if kind == "sqlite" else postgres_url("registration_test_migrate")


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.stack)])
def test_migrations_keep_the_rows(kind, tmp_path):
    url = _database(kind, tmp_path)
    store = Store(url)
    store.migrate("0001")  # the schema of the first release, with registrations in it
    with store.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO registrations (reference, name, email, email_normalized, country, timezone, experience, "
            "role, cloud, cohort, created_at) VALUES (:ref, :name, :email, :norm, 'NL', 'Europe/Amsterdam', "
            "'beginner', 'student', 'aws', '2026', :at)"),
            [{"ref": f"ZC-OLD{i}", "name": f"Early {i}", "email": f"early{i}@example.com",
              "norm": f"early{i}@example.com", "at": "2025-11-01 10:00:00"} for i in range(3)])
    store.migrate()
    assert store.revision() == "0006"
    with store.engine.connect() as conn:
        kept = conn.execute(sa.text("SELECT reference, name, heard_from FROM registrations ORDER BY id")).all()
    assert [tuple(r) for r in kept] == [(f"ZC-OLD{i}", f"Early {i}", None) for i in range(3)]
    store.migrate()  # again: nothing to do, nothing lost
    assert count_rows(url) == 3
    # The unique constraint came through: the old address cannot register again.
    from registration.forms import Submission

    again = Submission(name="x", email="EARLY1@example.com", country="NL", timezone="UTC", experience="none",
                       role="other", cloud="none", heard_from="other", cohort="2026")
    assert store.register(again) is None and count_rows(url) == 3
    store.close()


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.stack)])
def test_the_migrations_build_exactly_the_models(kind, tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    url = _database(kind, tmp_path)
    store = Store(url)
    store.migrate()
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    with store.engine.begin() as conn:  # and they go down again
        from alembic import command

        command.downgrade(alembic_config(conn), "base")
    assert not {"registrations", "instructor_sessions"} & set(sa.inspect(store.engine).get_table_names())
    store.close()
