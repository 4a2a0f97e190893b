"""The course's self-hosted web app: registration, and the course platform grown from it (accounts, homework,
leaderboard, projects with peer review, certificates, a token API), on SQLite or PostgreSQL.

Run it with ``zoomcamp registration serve``; see registration/README.md. Modules:

- ``config``: the app's settings, taken from the course settings (``[registration]`` in zoomcamp.toml),
- ``forms``: the registration form's fields, allowed values and server-side validation,
- ``security``: password hashing, CSRF tokens, signed cookies, rate limiting, security headers,
- ``models``: the tables (SQLAlchemy); ``migrations/``: the Alembic migrations that make them,
- ``store``: the database engine, migrating, registrations and instructor sessions; it holds the parts below,
- ``accounts``: students' accounts, passwords via one-time links, sessions, API tokens, aliases,
- ``homework``: opening a week's questions, hand-ins until the deadline, scoring, statistics,
- ``projects``: project hand-ins, reviewer assignment, rubric reviews, scores, certificates,
- ``leaderboard``, ``overview``: a cohort's standings; the instructor's cohort numbers and student search,
- ``plots``, ``certificates``: the box plots' coordinates; the certificate PDF,
- ``web``: what every page shares (templates, posted forms with CSRF, pages, hashing slots, CSV cells),
- ``app``: the FastAPI application (the form, the instructor's registrations page, health) and ``serve()``;
  ``account_pages``, ``homework_pages``, ``project_pages``, ``instructor_pages``, ``api``: its other routes,
- ``client``: handing homework in from the command line (``zoomcamp homework submit N``),
- ``load_test``: concurrent submissions against a running app (submissions/s, p95 latency).
"""
