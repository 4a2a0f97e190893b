"""Concurrent submissions against a running registration app, on this machine only.

    zoomcamp registration serve --rate-limit 0 &      # the per-IP limit would (rightly) stop one client
    python -m registration.load_test --url http://127.0.0.1:8000 -n 200
    python -m registration.load_test --url http://127.0.0.1:8000 -n 50 --same-email twice@example.com
    python -m registration.load_test --url http://127.0.0.1:8000 --homework 500 --window 60 \
        --database-url sqlite:///.zoomcamp/registration/registration.db

Each simulated person opens the form (its own cookies and CSRF token), then all of them submit at the same
moment. Prints submissions/s and latency; the last line is ``name=value`` pairs for scripts.
Exit code 1 if any request failed.

``--homework N``: N students of a fresh cohort (made in the app's database, each with an API token) hand in
week 1 through the API at moments spread over the last ``--window`` seconds before a deadline, and a tenth of
that window after it. Then the database is read: every accepted submission must be there, as sent, stored
before the deadline; every refused one (409) must have reached the server at or after it (the 409 says when).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import ipaddress
import json
import re
import secrets
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

MAX_SUBMISSIONS = 2_000
MAX_CONCURRENCY = 256  # threads on this machine; the server sees at most this many at once
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_COHORT = re.compile(r'<select id="cohort".*?<option value="([^"]+)"', re.S)


@dataclass
class Result:
    submissions: int
    seconds: float
    latencies: list[float]  # seconds, of the submissions (not of opening the form)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def created(self) -> int:
        return self.statuses.get(201, 0)

    @property
    def already_registered(self) -> int:
        return self.statuses.get(200, 0)

    @property
    def per_second(self) -> float:
        return self.submissions / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))] if ordered else 0.0

    def summary(self) -> str:
        return (f"submissions={self.submissions} created={self.created} already_registered={self.already_registered} "
                f"errors={len(self.errors)} seconds={self.seconds:.3f} submissions_per_s={self.per_second:.1f} "
                f"p50_ms={self.percentile(50) * 1e3:.1f} p95_ms={self.percentile(95) * 1e3:.1f} "
                f"max_ms={max(self.latencies, default=0) * 1e3:.1f}")


def check_loopback(url: str) -> None:
    """Refuse anything but this machine: a load test is not to be pointed at someone else's server."""
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        raise SystemExit(f"load_test: cannot resolve {host!r}") from None
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise SystemExit(f"load_test: {url} is not on this machine (loopback only)")


def _email(i: int, run_id: str, same_email: str | None) -> str:
    if same_email is None:
        return f"load-{run_id}-{i}@example.com"
    # One address written several ways (case, spaces): the app must see them all as the same person.
    variant = same_email.upper() if i % 2 else same_email.lower()
    return f"  {variant} " if i % 3 == 0 else variant


def _person(i: int, run_id: str, same_email: str | None, cohort: str, token: str) -> dict[str, str]:
    return {"csrf_token": token, "name": f"Load Test {i}", "email": _email(i, run_id, same_email),
            "country": "NL", "timezone": "Europe/Amsterdam", "experience": "beginner", "role": "student",
            "cloud": "gcp", "heard_from": "friend", "cohort": cohort, "consent": "yes", "website": ""}


def run(url: str, n: int = 200, concurrency: int | None = None, same_email: str | None = None,
        timeout: float = 60.0) -> Result:
    """Open the form ``n`` times, then submit all ``n`` forms at once (``concurrency`` at a time, default all)."""
    url = url.rstrip("/")
    check_loopback(url)
    if not 1 <= n <= MAX_SUBMISSIONS:
        raise SystemExit(f"load_test: -n must be between 1 and {MAX_SUBMISSIONS}")
    concurrency = min(concurrency or n, n, MAX_CONCURRENCY)
    run_id = secrets.token_hex(4)
    marks = {"start": 0.0, "end": 0.0}
    start_line = threading.Barrier(concurrency, action=lambda: marks.update(start=time.perf_counter()))
    lock = threading.Lock()
    result = Result(submissions=n, seconds=0.0, latencies=[])

    def one(i: int) -> None:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        try:
            page = opener.open(url + "/", timeout=timeout).read().decode()
            token, cohort = _TOKEN.search(page).group(1), _COHORT.search(page).group(1)
            body = urllib.parse.urlencode(_person(i, run_id, same_email, cohort, token)).encode()
        except (OSError, AttributeError) as exc:
            body, error = None, f"opening the form: {exc!r}"
        if i < concurrency:  # the first wave starts together (the rest follow as threads free up)
            try:
                start_line.wait(timeout)
            except threading.BrokenBarrierError:
                pass
        if body is None:
            with lock:
                result.errors.append(error)
            return
        began = time.perf_counter()
        try:
            status = opener.open(urllib.request.Request(url + "/register", data=body), timeout=timeout).status
            problem = ""
        except urllib.error.HTTPError as exc:
            status, problem = exc.code, f"HTTP {exc.code}"
        except OSError as exc:
            status, problem = 0, repr(exc)
        finished = time.perf_counter()
        if not problem and not (status == 201 or (same_email is not None and status == 200)):
            problem = f"HTTP {status}"
        with lock:
            result.latencies.append(finished - began)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            marks["end"] = max(marks["end"], finished)
            if problem:
                result.errors.append(f"submission {i}: {problem}")

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(n)))
    # From the moment everyone submits to the last answer (opening the forms beforehand is not counted).
    result.seconds = max(0.0, marks["end"] - marks["start"])
    return result


@dataclass
class HomeworkResult(Result):
    deadline: float = 0.0  # the deadline, as a time.time()
    stored: int = 0  # submissions in the database afterwards
    stored_after_deadline: int = 0
    sent_after_deadline: int = 0
    sent_early_refused: int = 0  # sent before the deadline, reached the server after it

    @property
    def accepted(self) -> int:
        return self.statuses.get(201, 0)

    @property
    def refused_late(self) -> int:
        return self.statuses.get(409, 0)

    def summary(self) -> str:
        return (f"students={self.submissions} accepted={self.accepted} refused_late={self.refused_late} "
                f"sent_after_deadline={self.sent_after_deadline} sent_early_refused={self.sent_early_refused} "
                f"stored={self.stored} "
                f"stored_after_deadline={self.stored_after_deadline} errors={len(self.errors)} "
                f"seconds={self.seconds:.3f} submissions_per_s={self.per_second:.1f} "
                f"p50_ms={self.percentile(50) * 1e3:.1f} p95_ms={self.percentile(95) * 1e3:.1f} "
                f"max_ms={max(self.latencies, default=0) * 1e3:.1f}")


def seed_students(database_url: str, n: int, run_id: str) -> tuple[str, list[tuple[int, str]]]:
    """A cohort of ``n`` students with an API token each, written straight into the app's database (the
    sign-up pages would spend most of the run hashing passwords); (cohort, [(student id, token)])."""
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from .accounts import API_TOKEN_PREFIX, secret_hash
    from .models import Registration, Student, StudentToken
    from .store import Store, new_reference

    cohort, now, out = f"load-{run_id}", datetime.now(UTC), []
    store = Store(database_url)
    try:
        with store.engine.begin() as conn:
            for i in range(n):
                email = f"load-{run_id}-{i}@example.com"
                registration = conn.execute(sa.insert(Registration).values(
                    reference=new_reference(), name=f"Load Test {i}", email=email, email_normalized=email,
                    country="NL", timezone="Europe/Amsterdam", experience="beginner", role="student", cloud="gcp",
                    heard_from="friend", cohort=cohort, created_at=now).returning(Registration.id)).scalar_one()
                student = conn.execute(sa.insert(Student).values(registration_id=registration, created_at=now)
                                       .returning(Student.id)).scalar_one()
                token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
                conn.execute(sa.insert(StudentToken).values(token_hash=secret_hash(token), student_id=student,
                                                            kind="api", created_at=now))
                out.append((student, token))
    finally:
        store.close()
    return cohort, out


def homework_run(url: str, database_url: str, n: int = 500, window: float = 60.0, timeout: float = 60.0
                 ) -> HomeworkResult:
    """``n`` students hand in week 1 at moments spread evenly over the last ``window`` seconds before a
    deadline and ``window / 10`` after it; then check the database against what the server answered."""
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from .models import HomeworkSubmission
    from .store import Store

    url = url.rstrip("/")
    check_loopback(url)
    if not 1 <= n <= MAX_SUBMISSIONS:
        raise SystemExit(f"load_test: --homework must be between 1 and {MAX_SUBMISSIONS}")
    run_id = secrets.token_hex(4)
    cohort, students = seed_students(database_url, n, run_id)
    start = time.time() + 1.0  # the first submission, after the threads are ready
    deadline = start + window
    store = Store(database_url)
    homework_id = store.homework.open(cohort, 1, datetime.fromtimestamp(deadline, UTC))
    # Moments in [deadline - window, deadline + window / 10): about one in eleven comes too late.
    moments = [start + (window * 1.1) * i / n for i in range(n)]
    result = HomeworkResult(submissions=n, seconds=0.0, latencies=[], deadline=deadline)
    sent: dict[int, dict] = {}
    lock = threading.Lock()
    marks = {"end": 0.0}

    def one(i: int) -> None:
        student_id, token = students[i]
        answers = {"q1": str(1000 + i), "q2": "2021-01-15", "q3": f"zone {i}", "q4": str(i), "q5": f"{i}.5"}
        body = json.dumps({"answers": answers, "time_spent": i % 7}).encode()
        request = urllib.request.Request(f"{url}/api/homework/1/submission", data=body, method="POST", headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        time.sleep(max(0.0, moments[i] - time.time()))
        began, wall = time.perf_counter(), time.time()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, problem = response.status, ""
        except urllib.error.HTTPError as exc:
            status, problem = exc.code, f"HTTP {exc.code}"
            if exc.code == 409:  # late: it must have reached the server at or after the deadline
                arrived = datetime.fromisoformat(json.load(exc)["arrived_at"]).timestamp()
                problem = "" if arrived >= deadline else f"refused, arrived {deadline - arrived:.3f} s early"
        except OSError as exc:
            status, problem = 0, repr(exc)
        finished = time.perf_counter()
        with lock:
            result.latencies.append(finished - began)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            marks["end"] = time.time()
            result.sent_after_deadline += wall >= deadline
            result.sent_early_refused += status == 409 and wall < deadline  # the server's queue made them late
            if status == 201:
                sent[student_id] = answers
            if problem:
                result.errors.append(f"student {i}: {problem}")

    with ThreadPoolExecutor(max_workers=min(n, MAX_CONCURRENCY)) as pool:
        list(pool.map(one, range(n)))
    result.seconds = max(0.0, marks["end"] - start)
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(sa.select(HomeworkSubmission.student_id, HomeworkSubmission.answers,
                                          HomeworkSubmission.submitted_at)
                                .where(HomeworkSubmission.homework_id == homework_id)).all()
    finally:
        store.close()
    cutoff = datetime.fromtimestamp(deadline, UTC)
    result.stored = len(rows)
    for row in rows:
        at = row.submitted_at if row.submitted_at.tzinfo else row.submitted_at.replace(tzinfo=UTC)
        result.stored_after_deadline += at >= cutoff
        wanted = sent.pop(row.student_id, None)
        if wanted is None:
            result.errors.append(f"student {row.student_id}: stored, but the server did not say it accepted it")
        elif {k: str(v) for k, v in row.answers.items()} != {k: str(float(v)) if k == "q5" else v
                                                            for k, v in wanted.items()}:
            result.errors.append(f"student {row.student_id}: stored {row.answers}, sent {wanted}")
    result.errors += [f"student {s}: accepted (201) but not stored" for s in sent]
    if result.stored_after_deadline:
        result.errors.append(f"{result.stored_after_deadline} submissions stored after the deadline")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the running app (this machine only)")
    parser.add_argument("-n", type=int, default=200, help="submissions")
    parser.add_argument("--concurrency", type=int, default=None, help="at once (default: all of them, max 256)")
    parser.add_argument("--same-email", default=None,
                        help="every submission uses this address, in varying case (duplicates)")
    parser.add_argument("--homework", type=int, default=None, metavar="N",
                        help="N students hand in homework around a deadline (needs --database-url)")
    parser.add_argument("--window", type=float, default=60.0, help="--homework: seconds before the deadline")
    parser.add_argument("--database-url", default=None, help="--homework: the app's database (to seed and check)")
    args = parser.parse_args(argv)
    if args.homework is not None:
        if not args.database_url:
            parser.error("--homework needs --database-url (the app's database)")
        result = homework_run(args.url, args.database_url, args.homework, args.window)
        return _report(result, f"{result.submissions} students around a deadline: {result.accepted} accepted, "
                               f"{result.refused_late} refused as late ({result.sent_after_deadline} sent after it), "
                               f"{result.stored} stored; {result.per_second:.0f} submissions/s, "
                               f"p95 {result.percentile(95) * 1e3:.0f} ms")
    result = run(args.url, args.n, args.concurrency, args.same_email)
    return _report(result, f"{result.submissions} submissions to {args.url} in {result.seconds:.2f} s: "
                           f"{result.per_second:.0f}/s, p50 {result.percentile(50) * 1e3:.0f} ms, "
                           f"p95 {result.percentile(95) * 1e3:.0f} ms; HTTP statuses "
                           f"{dict(sorted(result.statuses.items()))}")


def _report(result: Result, headline: str) -> int:
    """Print the headline, the first errors and the ``name=value`` line; the exit code (1 on any error)."""
    print(headline)
    for error in result.errors[:10]:
        print("  error:", error)
    print(result.summary())
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
