"""The registration form: its fields, the values each may take, and the server-side validation.

The browser's own checks (``required``, ``maxlength``) are a convenience; everything is checked again here,
because a request need not come from our form at all.
"""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from dataclasses import dataclass
from functools import cache
from importlib import resources

NAME_MAX = 100
EMAIL_MAX = 254

EXPERIENCE = {
    "none": "None yet: I am new to data",
    "beginner": "Beginner: some SQL or Python",
    "intermediate": "Intermediate: I have built data pipelines",
    "advanced": "Advanced: I work with data pipelines every day",
}
ROLES = {
    "student": "Student",
    "data_analyst": "Data analyst",
    "data_scientist": "Data scientist",
    "software_engineer": "Software engineer",
    "data_engineer": "Data engineer",
    "other": "Other",
}
CLOUDS = {"gcp": "Google Cloud (GCP)", "aws": "Amazon Web Services (AWS)", "azure": "Microsoft Azure",
          "none": "None"}
HEARD_FROM = {
    "friend": "A friend or colleague",
    "linkedin": "LinkedIn",
    "twitter": "X / Twitter",
    "youtube": "YouTube",
    "slack": "DataTalks.Club Slack",
    "newsletter": "The DataTalks.Club newsletter",
    "search": "A search engine",
    "other": "Somewhere else",
}
FIELDS = ("name", "email", "country", "timezone", "experience", "role", "cloud", "heard_from", "cohort", "consent")
# The honeypot: hidden from people (CSS, aria-hidden, tabindex -1), filled in by naive bots.
HONEYPOT = "website"

# A pragmatic address check (RFC 5321 lengths, dot-atom local part, a domain of DNS labels with a TLD);
# whether the address exists is for the course's emails to find out.
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# Text-direction overrides can make a name display as something else; joiners (ZWJ, ZWNJ) stay allowed.
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_TZ_AREAS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian",
             "Pacific")


@cache
def _country_rows() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(ISO 3166 code, English name, the country's tz zones), sorted by name: countries.tsv."""
    text = resources.files(__package__).joinpath("countries.tsv").read_text(encoding="utf-8")
    rows = (line.split("\t") for line in text.splitlines() if line and not line.startswith("#"))
    return tuple((code, name, tuple(zones.split())) for code, name, zones in rows)


@cache
def countries() -> dict[str, str]:
    """ISO 3166 code -> the country's name (United Kingdom, not the tz database's "Britain (UK)"), sorted by name."""
    return {code: name for code, name, _ in _country_rows()}


@cache
def country_zones() -> dict[str, tuple[str, ...]]:
    """ISO 3166 code -> the time zones of that country (the tz database's zone.tab)."""
    return {code: zones for code, _, zones in _country_rows()}


@cache
def _zone_countries() -> dict[str, set[str]]:
    owners: dict[str, set[str]] = {}
    for code, zones in country_zones().items():
        for zone in zones:
            owners.setdefault(zone, set()).add(code)
    return owners


def zone_mismatch(country: str, timezone: str) -> str | None:
    """Why ``timezone`` cannot be where someone in ``country`` lives, or None. UTC goes with every country; so does
    a zone the tz database gives no country (an old name such as Asia/Calcutta), and any zone for a country
    without zones of its own (an uninhabited island)."""
    owners, own = _zone_countries().get(timezone), country_zones().get(country, ())
    if timezone == "UTC" or not owners or not own or country in owners:
        return None
    names = countries()
    where = " and ".join(sorted(names[c] for c in owners))
    shown = ", ".join(own[:4]) + (", ..." if len(own) > 4 else "")
    return (f"{timezone} is in {where}, not in {names[country]}: choose a time zone of {names[country]} ({shown}) "
            "or UTC.")


@cache
def timezones() -> tuple[str, ...]:
    """The IANA zones people live in (Area/City), plus UTC."""
    names = {n for n in zoneinfo.available_timezones() if n.split("/")[0] in _TZ_AREAS and "/" in n}
    return ("UTC", *sorted(names))


def normalize_email(email: str) -> str:
    """The form an address is compared in: trimmed and lower-cased (the unique key of a registration)."""
    return email.strip().lower()


def email_is_valid(email: str) -> bool:
    if len(email) > EMAIL_MAX or email.count("@") != 1:
        return False
    local, domain = email.split("@")
    labels = domain.split(".")
    return (0 < len(local) <= 64 and _LOCAL.fullmatch(local) is not None and len(labels) >= 2
            and all(_LABEL.fullmatch(label) for label in labels) and labels[-1].isalpha())


@dataclass(frozen=True)
class Submission:
    name: str
    email: str
    country: str
    timezone: str
    experience: str
    role: str
    cloud: str
    heard_from: str
    cohort: str

    @property
    def email_normalized(self) -> str:
        return normalize_email(self.email)


def _choice(form: dict[str, str], field: str, allowed, message: str, errors: dict[str, str]) -> str:
    value = form.get(field, "").strip()
    if value not in allowed:
        errors[field] = message
    return value


def validate(form: dict[str, str], cohorts: tuple[str, ...]) -> tuple[Submission | None, dict[str, str]]:
    """The cleaned submission, or None and one message per field that is wrong (shown beside the field)."""
    errors: dict[str, str] = {}
    name = " ".join(form.get("name", "").split())  # trimmed, inner runs of whitespace made one space
    if not name:
        errors["name"] = "Enter your name."
    elif len(name) > NAME_MAX:
        errors["name"] = f"Your name can be at most {NAME_MAX} characters long."
    elif any(unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") or ch in _BIDI_CONTROLS for ch in name):
        errors["name"] = "Your name contains characters that cannot be shown (control or unassigned characters)."

    email = form.get("email", "").strip()
    if not email:
        errors["email"] = "Enter your email address."
    elif not email_is_valid(email):
        errors["email"] = "Enter an email address like name@example.com."

    country = _choice(form, "country", countries(), "Choose your country from the list.", errors)
    timezone = _choice(form, "timezone", set(timezones()), "Choose your time zone from the list.", errors)
    experience = _choice(form, "experience", EXPERIENCE, "Choose your experience level.", errors)
    role = _choice(form, "role", ROLES, "Choose the role closest to yours.", errors)
    cloud = _choice(form, "cloud", CLOUDS, "Choose a cloud (or None).", errors)
    heard_from = _choice(form, "heard_from", HEARD_FROM, "Tell us how you heard about the course.", errors)
    cohort = _choice(form, "cohort", cohorts, "Choose a cohort from the list.", errors)
    if "country" not in errors and "timezone" not in errors and (mismatch := zone_mismatch(country, timezone)):
        errors["timezone"] = mismatch
    if form.get("consent") != "yes":
        errors["consent"] = "Tick the box to agree that we store your registration (it is required)."

    if errors:
        return None, errors
    return Submission(name=name, email=email, country=country, timezone=timezone, experience=experience, role=role,
                      cloud=cloud, heard_from=heard_from, cohort=cohort), {}
