"""A standalone Apache Flink cluster: one JobManager (with the web UI) and one TaskManager, for submitted jobs.

Started on demand (``zoomcamp stack up flink``), not by a plain ``zoomcamp stack up``: two JVMs (~1.5 GB together)
that only week 6's Flink lessons need. Notebooks run their jobs on a mini-cluster inside the kernel instead; this
cluster is where ``zone_windows.py --jobmanager 127.0.0.1:<port>`` submits to, and where a student watches jobs,
checkpoints and restarts in the web UI (``zoomcamp stack status`` prints its URL).

Flink itself is the distribution that the ``apache-flink-libraries`` wheel installs in ``.venv-flink``
(``pyflink/lib`` and ``pyflink/bin``): its own ``jobmanager.sh`` / ``taskmanager.sh start-foreground`` compute the
JVMs' memory options, with a configuration of ours in ``<home>/stack/flink/conf``. The processes run in their own
sessions and outlive the command that started them, like the other services.
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

from .base import (
    Service,
    ServiceStatus,
    StackError,
    config_text,
    free_port,
    http_json,
    kill,
    launch,
    log_tail,
    process_alive,
    terminate,
)

HOST = "127.0.0.1"
START_TIMEOUT = 120.0
STOP_GRACE = 20.0
SLOTS = 2  # one TaskManager, two task slots: a job of parallelism 2 fits, and so do two jobs of 1
ENTRYPOINTS = {"jobmanager": "StandaloneSessionClusterEntrypoint", "taskmanager": "TaskManagerRunner"}


def cluster_config(rest_port: int, rpc_port: int, java_opts: str) -> str:
    """``config.yaml`` (flat keys, which Flink 2's YAML reader accepts)."""
    return config_text("flink", {
        "env.java.opts.all": java_opts,
        "jobmanager.rpc.address": HOST,
        "jobmanager.rpc.port": rpc_port,
        "jobmanager.bind-host": HOST,
        "taskmanager.bind-host": HOST,
        "taskmanager.host": HOST,
        "rest.address": HOST,
        "rest.bind-address": HOST,
        "rest.port": rest_port,
        # Sized for a 2-core laptop next to Kafka and PostgreSQL (Flink's defaults: 1600m and 1728m).
        "jobmanager.memory.process.size": "800m",
        "taskmanager.memory.process.size": "1024m",
        "taskmanager.numberOfTaskSlots": SLOTS,
        "parallelism.default": 1,
        # A killed TaskManager is noticed within seconds (default: 50 s of missed heartbeats), so its jobs restart.
        "heartbeat.interval": 2000,
        "heartbeat.timeout": 8000,
        "jobmanager.execution.failover-strategy": "region",
    }, separator=": ")


def rest(port: int, path: str, method: str = "GET", timeout: float = 5.0):
    """One call to the cluster's REST API (the web UI's own): the decoded JSON body. Connection errors raise OSError."""
    body = http_json(f"http://{HOST}:{port}{path}", method=method, timeout=timeout)[1]
    if isinstance(body, str):
        raise ValueError(f"flink: {path} did not answer with JSON: {body[:200]}")
    return body


class Flink(Service):
    name = "flink"
    default_port = 8081

    @property
    def conf_dir(self) -> Path:
        return self.folder / "conf"

    def _alive(self, pid: int | None, role: str) -> bool:
        # Both processes name the conf folder (ours, not another home's) and their entry point class.
        return process_alive(pid, str(self.conf_dir)) and process_alive(pid, ENTRYPOINTS[role])

    def pid(self, role: str = "jobmanager") -> int | None:
        pid = self.read_state().get(role)
        return pid if self._alive(pid, role) else None

    def url(self) -> str | None:
        port = self.read_state().get("port")
        return f"http://{HOST}:{port}" if port and self.pid() else None

    def overview(self) -> dict:
        """The web UI's front page as data: taskmanagers, slots-total, slots-available, jobs-running ..."""
        port = self.read_state().get("port")
        try:
            body = rest(port, "/overview", timeout=3) if port else None
        except (OSError, ValueError):
            return {}
        return body if isinstance(body, dict) else {}

    # --- the service's face ---------------------------------------------------------------------------------
    def status(self) -> ServiceStatus:
        port = self.read_state().get("port")
        details: dict = {"host": HOST, "port": port, "log": str(self.folder / "log"), "data_dir": str(self.folder)}
        jm, tm = self.pid("jobmanager"), self.pid("taskmanager")
        if not jm:
            message = "stopped (started on demand: zoomcamp stack up flink)"
            return ServiceStatus(self.name, False, message, details)
        details.update(pid=jm, taskmanager_pid=tm, url=f"http://{HOST}:{port}")
        overview = self.overview()
        if not overview:
            return ServiceStatus(self.name, False, f"JobManager {jm} runs but its REST API does not answer on "
                                 f"{port} (starting, or see the log)", details)
        details.update(taskmanagers=overview.get("taskmanagers", 0), slots=overview.get("slots-total", 0),
                       jobs_running=overview.get("jobs-running", 0))
        # The process first: a killed TaskManager stays registered until its heartbeats time out.
        if not tm or not overview.get("taskmanagers") or not overview.get("slots-total"):
            return ServiceStatus(self.name, False, f"web UI on http://{HOST}:{port}, but no TaskManager "
                                 "(zoomcamp stack up flink starts it again)", details)
        return ServiceStatus(self.name, True, f"web UI on http://{HOST}:{port} ({overview['taskmanagers']} "
                             f"TaskManager, {overview.get('slots-total', 0)} slots, "
                             f"{overview.get('jobs-running', 0)} jobs running)", details)

    def start(self) -> ServiceStatus:
        with self.exclusive():
            current = self.status()
            if current.running:
                current.message = f"already running: {current.message}"
                return current
            started = time.monotonic()
            state = self.read_state()
            if not self.pid("jobmanager"):
                self._write_conf()
                state = self.read_state()
                state["jobmanager"] = self._launch("jobmanager")
                self.write_state(**state)
            if not self.pid("taskmanager"):  # also after a TaskManager was killed: the JobManager kept running
                state["taskmanager"] = self._launch("taskmanager")
                self.write_state(**state)
            status = self._wait_ready()
            status.message = f"started: {status.message} in {time.monotonic() - started:.1f} s"
            return status

    def _write_conf(self) -> None:
        from ..streaming import flink as pyflink_env

        home = pyflink_env.home()  # "run make setup" when Flink's environment is missing
        port = self.choose_port(self.settings.flink_port)
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        (self.folder / "log").mkdir(exist_ok=True)
        # The JVM options Flink's own configuration gives (module opens for Java 17+), kept as the wheel has them,
        # after the quick-start ones (C1, serial GC: the lessons' jobs are small).
        found = re.search(r"^\s*all:\s*(.+)$", (home / "conf" / "config.yaml").read_text(), re.M)
        java_opts = f"{pyflink_env.QUICK_START_JAVA_OPTIONS} {found.group(1) if found else ''}".strip()
        (self.conf_dir / "config.yaml").write_text(cluster_config(port, free_port(), java_opts))
        for name in ("log4j-console.properties", "log4j.properties"):
            (self.conf_dir / name).write_text((home / "conf" / name).read_text())
        self.write_state(port=port)

    def _launch(self, role: str) -> int:
        from .. import jvm
        from ..streaming import flink as pyflink_env

        home = pyflink_env.home()
        env = {**os.environ, "JAVA_HOME": str(jvm.java().resolve().parents[1]), "FLINK_CONF_DIR": str(self.conf_dir),
               "FLINK_LOG_DIR": str(self.folder / "log"), "FLINK_HOME": str(home)}
        process = launch(["bash", str(home / "bin" / f"{role}.sh"), "start-foreground"], self.folder / f"{role}.out",
                         env=env, cwd=self.folder)
        return process.pid  # the script execs java: the same pid

    def _wait_ready(self) -> ServiceStatus:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            status = self.status()
            if status.running:
                return status
            for role in ENTRYPOINTS:
                pid = self.read_state().get(role)
                if not self._alive(pid, role) and not (pid and self._starting(pid)):
                    raise StackError(f"flink: the {role} stopped while starting: {self._log_tail(role)}")
            if time.monotonic() > deadline:
                raise StackError(f"flink: no TaskManager registered within {START_TIMEOUT:.0f} s: "
                                 f"{self._log_tail('jobmanager')}")
            time.sleep(0.5)

    def _starting(self, pid: int) -> bool:
        """Still one of Flink's launch scripts (jobmanager.sh, then flink-console.sh) before they exec java."""
        return process_alive(pid, "start-foreground") or process_alive(pid, str(self.conf_dir))

    def _log_tail(self, role: str) -> str:
        logs = sorted((self.folder / "log").glob(f"*{'standalonesession' if role == 'jobmanager' else role}*.log"))
        found = [path for path in [*logs, self.folder / f"{role}.out"] if path.is_file() and path.stat().st_size]
        return log_tail(found[0]) if found else "no log"

    def stop(self) -> ServiceStatus:
        with self.exclusive():
            stopped = False
            for role in ("taskmanager", "jobmanager"):
                pid = self.pid(role)
                if pid:
                    terminate(pid, ENTRYPOINTS[role], grace=STOP_GRACE)
                    stopped = True
            status = self.status()
            status.message = "stopped" if stopped else "not running"
            return status

    def kill_taskmanager(self, sig: int = signal.SIGKILL) -> int:
        """Kill the TaskManager the hard way (its tasks fail; the JobManager restarts the job from its last
        checkpoint once a TaskManager is back: ``start()``); returns its pid."""
        pid = self.pid("taskmanager")
        if not pid:
            raise StackError("flink: the TaskManager is not running (zoomcamp stack up flink)")
        return kill(pid, ENTRYPOINTS["taskmanager"], sig, wait=STOP_GRACE)

    def env(self) -> dict[str, str]:
        url = self.url()
        return {"FLINK_URL": url, "FLINK_JOBMANAGER": url.removeprefix("http://")} if url else {}
