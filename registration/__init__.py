"""The course's self-hosted registration app: a form, an instructor page, SQLite or PostgreSQL.

Run it with ``zoomcamp registration serve``; see registration/README.md. Modules:

- ``config``: the app's settings, taken from the course settings (``[registration]`` in zoomcamp.toml),
- ``forms``: the form's fields, allowed values and server-side validation,
- ``security``: password hashing, CSRF tokens, signed cookies, rate limiting, security headers,
- ``store``: the SQLAlchemy model, the database engine and Alembic migrations,
- ``app``: the FastAPI application and ``serve()``,
- ``load_test``: concurrent submissions against a running app (submissions/s, p95 latency).
"""
