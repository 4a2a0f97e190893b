"""The platform's client side: hand in a week's answers with an API token (``zoomcamp homework submit N``).

Only the standard library (urllib): the CLI stays light. Every failure is one :class:`RegistrationError` line
saying what to do.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import date, datetime
from typing import Any

from .config import RegistrationError

TOKEN_HINT = ("make an API token on your account page of the course platform (/account) and set it as "
              "ZOOMCAMP_PLATFORM_TOKEN (or token under [platform] in zoomcamp.toml)")


def _json_answer(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()[:10]
    return value if isinstance(value, int | float | str) and not isinstance(value, bool) else str(value)


def submit_homework(url: str, token: str | None, week: int, answers: dict[str, Any], links: list[str] = (),
                    time_spent: float | None = None, comments: str | None = None, timeout: float = 30) -> dict:
    """POST the answers to ``<url>/api/homework/<week>/submission``; the platform's answer (what it stored)."""
    if not token:
        raise RegistrationError(f"no platform token: {TOKEN_HINT}")
    body = {"answers": {str(k): _json_answer(v) for k, v in answers.items() if v is not None},
            "links": list(links), "time_spent": time_spent, "comments": comments}
    request = urllib.request.Request(
        f"{url.rstrip('/')}/api/homework/{week}/submission", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:
        try:
            answer = json.load(exc)
        except ValueError:
            answer = {}
        detail = answer.get("detail") or f"HTTP {exc.code}"
        if exc.code == 401:
            detail = f"the platform refused the token: {TOKEN_HINT}"
        errors = answer.get("errors") or {}
        raise RegistrationError(f"not submitted: {detail}" + "".join(f"; {q}: {m}" for q, m in errors.items())
                                ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RegistrationError(f"cannot reach the course platform at {url} ({reason}): check platform_url "
                                "(ZOOMCAMP_PLATFORM_URL)") from None
