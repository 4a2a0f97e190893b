"""Concurrent submissions against a running registration app, on this machine only.

    zoomcamp registration serve --rate-limit 0 &      # the per-IP limit would (rightly) stop one client
    python -m registration.load_test --url http://127.0.0.1:8000 -n 200
    python -m registration.load_test --url http://127.0.0.1:8000 -n 50 --same-email twice@example.com

Each simulated person opens the form (its own cookies and CSRF token), then all of them submit at the same
moment. Prints submissions/s and latency; the last line is ``name=value`` pairs for scripts.
Exit code 1 if any request failed.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import ipaddress
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the running app (this machine only)")
    parser.add_argument("-n", type=int, default=200, help="submissions")
    parser.add_argument("--concurrency", type=int, default=None, help="at once (default: all of them, max 256)")
    parser.add_argument("--same-email", default=None,
                        help="every submission uses this address, in varying case (duplicates)")
    args = parser.parse_args(argv)
    result = run(args.url, args.n, args.concurrency, args.same_email)
    print(f"{result.submissions} submissions to {args.url} in {result.seconds:.2f} s: "
          f"{result.per_second:.0f}/s, p50 {result.percentile(50) * 1e3:.0f} ms, "
          f"p95 {result.percentile(95) * 1e3:.0f} ms; HTTP statuses {dict(sorted(result.statuses.items()))}")
    for error in result.errors[:10]:
        print("  error:", error)
    print(result.summary())
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
