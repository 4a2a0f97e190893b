"""Alembic's entry point for the registration schema.

The app runs the migrations itself on every start (``Store.migrate``) and hands over its connection; from the
command line (``alembic -c registration/alembic.ini ...``) the URL comes from the course settings.
"""

from alembic import context

from registration.config import Config
from registration.store import Base, make_engine

connection = context.config.attributes.get("connection")


def run(conn) -> None:
    # render_as_batch: SQLite cannot ALTER most things in place; batch mode copies the table instead.
    context.configure(connection=conn, target_metadata=Base.metadata,
                      render_as_batch=conn.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:
    engine = make_engine(Config.from_settings().database_url)
    with engine.begin() as conn:
        run(conn)
    engine.dispose()
