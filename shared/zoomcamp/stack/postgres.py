"""A real PostgreSQL server from the machine's own binaries (initdb + pg_ctl), on 127.0.0.1.

The cluster lives in ``<home>/stack/postgres/`` (initialised once, kept across restarts). Every connection needs
the password (scram-sha-256): user ``root`` and database ``ny_taxi`` by default, like the course's docker-compose
Postgres, but a random password of this home's own (``<home>/stack/postgres.password``, owner-only; ``zoomcamp
stack env`` exports it) unless ``postgres_password`` is set. The Unix socket asks for it too (no ``local trust``),
and its folder is the server's own (mode 0700). Before, any user of the machine got in as superuser: through the
socket without a password, or over 127.0.0.1 with the well-known ``root``. PostgreSQL refuses to run as
root, so as root the server runs as the ``postgres`` system user that Debian's packages create.

The server runs with ``wal_level=logical`` (week 6's change data capture: Debezium decodes the write-ahead log with
``pgoutput``). It is a start option, so a cluster made before that gets it at its next start; ``stack up`` restarts
a running server without it when nobody is connected, and otherwise says so in the status.
"""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import re
import secrets
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from .base import Service, ServiceStatus, StackError

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them: "
    "`sudo apt-get install postgresql` on Debian/Ubuntu (`make setup` does it when run as root), "
    "or point ZOOMCAMP_POSTGRES_BIN at the folder that holds them"
)
HOST = "127.0.0.1"
# Logical decoding for Debezium (week 6); replication slots and WAL senders stay at PostgreSQL's defaults (10).
SERVER_OPTIONS = "-c wal_level=logical -c unix_socket_permissions=0700"
LEGACY_PASSWORD = "root"  # every cluster's password before each home made its own
LOCAL_AUTH = "scram-sha-256"  # the Unix socket asks for the password too (initdb's default would be trust)


def find_bin_dir(configured: Path | None = None) -> Path:
    """The folder with initdb and pg_ctl: the setting, else PATH, else Debian's newest version."""
    candidates: list[Path] = []
    if configured:
        candidates.append(Path(configured))
    else:
        on_path = shutil.which("pg_ctl")
        if on_path:
            candidates.append(Path(os.path.realpath(on_path)).parent)
        versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
        candidates.extend(Path(p) for p in reversed(versions))
    for folder in candidates:
        if all((folder / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return folder
    raise StackError(INSTALL_HINT)


def _others_can_enter(path: Path) -> bool:
    """Whether a user other than the owner can reach ``path`` (every existing folder on the way lets others in)."""
    for folder in [*reversed(path.parents), path]:
        if folder.exists() and not folder.stat().st_mode & stat.S_IXOTH:
            return False
    return True


class Postgres(Service):
    name = "postgres"
    default_port = 5432

    # Paths -------------------------------------------------------------------------------------
    @property
    def folder(self) -> Path:
        """``<home>/stack/postgres``; as root, when the ``postgres`` user cannot enter the home (a
        checkout under ``/root``, say), a folder under ``/var/tmp`` named after the home instead."""
        local = super().folder
        if os.geteuid() != 0 or _others_can_enter(self.settings.home):
            return local
        digest = hashlib.sha1(str(self.settings.home).encode()).hexdigest()[:10]
        return Path("/var/tmp") / f"zoomcamp-postgres-{digest}"

    @property
    def socket_dir(self) -> Path:
        return self.folder / "run"

    # The password ------------------------------------------------------------------------------
    @property
    def password_file(self) -> Path:
        return self.settings.stack_path / "postgres.password"

    @property
    def password(self) -> str:
        """The ``postgres_password`` setting, else this home's own random password (made by :meth:`start`); a
        cluster made before there was one has the old default, ``root``, until its next ``stack up``."""
        if self.settings.postgres_password:
            return self.settings.postgres_password
        try:
            return self.password_file.read_text().strip()
        except FileNotFoundError:
            return LEGACY_PASSWORD

    def _make_password(self) -> None:
        """This home's random password, written owner-only (once: two starts at once keep the first)."""
        if self.settings.postgres_password or self.password_file.exists():
            return
        self.password_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.password_file.with_name(f".postgres.password.{os.getpid()}")
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(secrets.token_urlsafe(24) + "\n")
        try:
            os.link(tmp, self.password_file)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()

    def _adopt_password(self, port: int) -> None:
        """A cluster made with the old fixed password gets this home's own (over the socket's owner, the course)."""
        import psycopg2
        from psycopg2 import sql

        s = self.settings
        if s.postgres_password or self.password == LEGACY_PASSWORD:
            return
        try:
            psycopg2.connect(host=HOST, port=port, user=s.postgres_user, password=self.password, dbname="postgres",
                             connect_timeout=5).close()
            return  # already in place
        except psycopg2.OperationalError as exc:
            if "password authentication failed" not in str(exc):
                raise
        try:
            conn = psycopg2.connect(host=HOST, port=port, user=s.postgres_user, password=LEGACY_PASSWORD,
                                    dbname="postgres", connect_timeout=5)
        except psycopg2.OperationalError:
            raise StackError(f"postgres: the server's password is neither {self.password_file}'s nor the old "
                             "default; set postgres_password to it (ZOOMCAMP_POSTGRES_PASSWORD)") from None
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(sql.SQL("ALTER ROLE {} PASSWORD %s").format(sql.Identifier(s.postgres_user)),
                            (self.password,))
        finally:
            conn.close()

    # Running the binaries as the right user ------------------------------------------------------
    def _run_as(self) -> list[str]:
        """PostgreSQL refuses root; as root, run its tools as the ``postgres`` system user."""
        if os.geteuid() != 0:
            return []
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise StackError(
                "running as root, and PostgreSQL refuses to run as root: create a 'postgres' system user "
                "(`apt-get install postgresql` creates one) or run the course as a normal user"
            ) from None
        return ["runuser", "-u", "postgres", "--"]

    def _tool(self, name: str, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [*self._run_as(), str(find_bin_dir(self.settings.postgres_bin) / name), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            output = (result.stderr or result.stdout).strip().splitlines()
            raise StackError(f"postgres: {name} failed: {output[-1] if output else result.returncode}"
                             f" (log: {self.log_file})")
        return result

    def _prepare_folder(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        # The server's files, log and socket are its own: other users of the machine cannot reach the socket.
        for path in (self.folder, self.socket_dir):
            os.chmod(path, 0o700)
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            for path in (self.folder, self.socket_dir):
                os.chown(path, user.pw_uid, user.pw_gid)
            probe = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-w", str(self.folder)])
            if probe.returncode != 0:
                raise StackError(
                    f"postgres: the 'postgres' user cannot write to {self.folder}; "
                    "set ZOOMCAMP_HOME to a folder that other users can enter"
                )

    def _initdb(self) -> None:
        """Create the cluster in a temporary folder, then rename it: never a half-made data dir."""
        tmp = Path(tempfile.mkdtemp(prefix="initdb-", dir=self.folder))
        pwfile = self.folder / ".pwfile"
        try:
            pwfile.unlink(missing_ok=True)
            with os.fdopen(os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
                f.write(self.password + "\n")  # never readable by others, not even briefly
            if os.geteuid() == 0:
                user = pwd.getpwnam("postgres")
                os.chown(tmp, user.pw_uid, user.pw_gid)
                os.chown(pwfile, user.pw_uid, user.pw_gid)
            os.chmod(pwfile, 0o600)
            self._tool(
                "initdb", "-D", str(tmp), "--username", self.settings.postgres_user, "--pwfile", str(pwfile),
                "--auth-local", LOCAL_AUTH, "--auth-host", "scram-sha-256", "--encoding", "UTF8",
                "--locale", "C", "--no-instructions",
            )
            tmp.rename(self.data_dir)
        finally:
            pwfile.unlink(missing_ok=True)
            shutil.rmtree(tmp, ignore_errors=True)

    def _close_local_trust(self) -> bool:
        """A cluster made before the socket needed a password has ``local ... trust`` lines in pg_hba.conf:
        make them ask for the password. True when the file changed."""
        hba = self.data_dir / "pg_hba.conf"
        try:
            text = hba.read_text()
        except FileNotFoundError:
            return False
        lines = text.splitlines(keepends=True)
        for i, line in enumerate(lines):
            fields = line.split()
            if fields and fields[0] == "local" and fields[-1] == "trust":
                lines[i] = re.sub(r"\btrust(\s*)$", LOCAL_AUTH + r"\1", line)
        changed = "".join(lines)
        if changed == text:
            return False
        tmp = hba.with_name("pg_hba.conf.tmp")
        tmp.write_text(changed)
        stat_ = hba.stat()
        if os.geteuid() == 0:
            os.chown(tmp, stat_.st_uid, stat_.st_gid)
        os.chmod(tmp, stat.S_IMODE(stat_.st_mode))
        os.replace(tmp, hba)
        return True

    # The service face ----------------------------------------------------------------------------
    def status(self) -> ServiceStatus:
        port = self.read_state().get("port")
        details = {"host": HOST, "port": port, "data_dir": str(self.data_dir), "log": str(self.log_file)}
        if not (self.data_dir / "PG_VERSION").is_file():
            return ServiceStatus(self.name, False, "not initialised (zoomcamp stack up creates it)", details)
        result = self._tool("pg_ctl", "status", "-D", str(self.data_dir), check=False)
        if result.returncode != 0:
            return ServiceStatus(self.name, False, "stopped", details)
        pid = (self.data_dir / "postmaster.pid").read_text().split("\n")[0]
        details.update(pid=int(pid), database=self.settings.postgres_db, user=self.settings.postgres_user,
                       url=self.url(port), wal_level="logical" if self._logical() else "replica")
        if not self._logical():
            return ServiceStatus(self.name, True, f"running on {HOST}:{port}, without wal_level=logical (week 6's "
                                 "Kafka Connect needs it): restart it with `zoomcamp stack down postgres && "
                                 "zoomcamp stack up postgres`", details)
        return ServiceStatus(self.name, True, f"running on {HOST}:{port}", details)

    def _logical(self) -> bool:
        """Whether the running server was started with wal_level=logical (its start options, as pg_ctl saved them)."""
        try:
            return "wal_level=logical" in (self.data_dir / "postmaster.opts").read_text()
        except OSError:
            return False

    def _clients(self, port: int) -> int:
        """How many other sessions are connected to the server."""
        import psycopg2

        s = self.settings
        with psycopg2.connect(host=HOST, port=port, user=s.postgres_user, password=self.password,
                              dbname="postgres", connect_timeout=5) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                        "AND pid <> pg_backend_pid()")
            count = cur.fetchone()[0]
        conn.close()
        return count

    def start(self) -> ServiceStatus:
        find_bin_dir(self.settings.postgres_bin)  # a clear message before anything is created
        current = self.status()
        if current.running and current.details["wal_level"] != "logical":
            # A cluster started before week 6 needed logical decoding: restart it, unless someone would be cut off.
            if self._clients(current.details["port"]) == 0:
                self.stop()
                current = self.status()
            else:
                current.message = current.message.replace("running on", "already running on", 1)
                return current
        if current.running:
            self._prepare_folder()
            if self._close_local_trust():
                self._tool("pg_ctl", "reload", "-D", str(self.data_dir))
            self._make_password()
            self._adopt_password(current.details["port"])
            current.message = f"already running on {HOST}:{current.details['port']}"
            return current
        port = self.choose_port(self.settings.postgres_port)
        self._prepare_folder()
        self._close_local_trust()
        self._make_password()
        if not (self.data_dir / "PG_VERSION").is_file():
            self._initdb()
        options = f"-p {port} -k {self.socket_dir} -c listen_addresses={HOST} {SERVER_OPTIONS}"
        self._tool("pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60",
                   "-o", options)
        self.write_state(port=port)
        self._adopt_password(port)
        self._ensure_database(port)
        status = self.status()
        status.message = f"started on {HOST}:{port}"
        return status

    def stop(self) -> ServiceStatus:
        current = self.status()
        if not current.running:
            current.message = f"not running ({current.message})"
            return current
        self._tool("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60")
        status = self.status()
        status.message = "stopped"
        return status

    def env(self) -> dict[str, str]:
        port = self.read_state().get("port")
        if not port:
            return {}
        s = self.settings
        return {
            "PGHOST": HOST,
            "PGPORT": str(port),
            "PGUSER": s.postgres_user,
            "PGPASSWORD": self.password,
            "PGDATABASE": s.postgres_db,
            "DATABASE_URL": self.url(port),
        }

    # Helpers -------------------------------------------------------------------------------------
    def url(self, port: int | None = None) -> str:
        s = self.settings
        port = port or self.read_state().get("port")
        return f"postgresql://{s.postgres_user}:{quote(self.password, safe='')}@{HOST}:{port}/{s.postgres_db}"

    def _ensure_database(self, port: int) -> None:
        import psycopg2
        from psycopg2 import sql

        s = self.settings
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = psycopg2.connect(host=HOST, port=port, user=s.postgres_user, password=self.password,
                                        dbname="postgres", connect_timeout=5)
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (s.postgres_db,))
                if cur.fetchone() is None:
                    cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(s.postgres_db)))
        finally:
            conn.close()
