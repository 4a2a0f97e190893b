"""A Spark standalone cluster on this machine: a master and a worker started from the pip-installed pyspark.

Started on demand (``zoomcamp stack up spark``, ``zoomcamp spark cluster-up``, or ``with Cluster():`` in a lesson),
not by a plain ``zoomcamp stack up``.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..settings import Settings
from .base import (
    Service,
    ServiceStatus,
    StackError,
    claim_port,
    http_json,
    launch,
    process_alive,
    terminate,
    wait_until,
)

HOST = "127.0.0.1"
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
START_TIMEOUT = 90.0
STOP_GRACE = 15.0


class Cluster(Service):
    """A Spark standalone cluster on 127.0.0.1: one master (the cluster manager) and one worker (which starts the
    executors of submitted applications), each a JVM started with pyspark's ``bin/spark-class``. (A full Spark
    download has ``sbin/start-master.sh`` and ``sbin/start-worker.sh``, which wrap the same classes; the pip pyspark
    ships neither.) Taught in week_5_batch/07_spark_submit_and_clusters.ipynb. On demand (see the module): start it
    when a lesson needs it, or as a context manager::

        with Cluster() as cluster:
            submit(script, master=cluster.url)

    State in ``<home>/stack/spark.json``; logs and the executors' work folders in ``<home>/stack/spark/``.
    """

    name = "spark"
    default_port = 7077

    def __init__(self, settings: Settings | None = None, *, cores: int = 1, memory: str = "1g"):
        super().__init__(settings)
        self.cores, self.memory = cores, memory
        self._started_here = False

    @property
    def url(self) -> str:
        port = self.read_state().get("port")
        if not port:
            raise StackError("the Spark cluster is not running: start it with Cluster().start() "
                             "(or `zoomcamp spark cluster-up`)")
        return f"spark://{HOST}:{port}"

    def master_info(self) -> dict:
        """The master's view (its web UI's /json/): workers, cores, memory, running and completed applications."""
        port = self.read_state().get("ui_port")
        try:
            _, info = http_json(f"http://{HOST}:{port}/json/", timeout=3) if port else (None, None)
        except OSError:
            return {}
        return info if isinstance(info, dict) else {}

    def status(self) -> ServiceStatus:
        state = self.read_state()
        details = {"host": HOST, "port": state.get("port"), "ui_port": state.get("ui_port"),
                   "log": str(self.folder)}
        master = process_alive(state.get("master_pid"), MASTER_CLASS)
        worker = process_alive(state.get("worker_pid"), WORKER_CLASS)
        if not master and not worker:
            return ServiceStatus(self.name, False, "stopped (started on demand: zoomcamp stack up spark)", details)
        info = self.master_info()
        alive = [w for w in info.get("workers", []) if w.get("state") == "ALIVE"]
        details.update(url=f"spark://{HOST}:{state.get('port')}", ui=f"http://{HOST}:{state.get('ui_port')}",
                       workers=len(alive), cores=sum(w.get("cores", 0) for w in alive))
        if not (master and worker and alive):
            return ServiceStatus(self.name, False, f"master {'up' if master else 'down'}, "
                                 f"{len(alive)} live workers", details)
        return ServiceStatus(self.name, True, f"running: {details['url']}, {len(alive)} worker, "
                             f"{details['cores']} cores; UI {details['ui']}", details)

    def _launch(self, java_class: str, args: list[str], log: Path):
        from ..spark.runtime import java_options, launch_environment, spark_home

        env = {**os.environ, **launch_environment(), "SPARK_DAEMON_MEMORY": "512m",
               "SPARK_DAEMON_JAVA_OPTS": java_options(settings=self.settings), "SPARK_LOG_DIR": str(self.folder)}
        return launch([str(spark_home() / "bin" / "spark-class"), java_class, *args], log, env=env)

    def start(self) -> ServiceStatus:
        current = self.status()
        if current.running:
            current.message = f"already {current.message}"
            return current
        if current.details.get("port"):  # half-running (a worker lost its master ...): start clean
            self.stop()
        from ..spark.runtime import check_java

        check_java()
        self.folder.mkdir(parents=True, exist_ok=True)
        port = self.choose_port(None)
        ui_port = claim_port(8090, owner=self.owner, exclude={port})
        worker_ui = claim_port(owner=self.owner, exclude={port, ui_port})
        master_log, worker_log = self.folder / "master.log", self.folder / "worker.log"
        master = self._launch(MASTER_CLASS, ["--host", HOST, "--port", str(port), "--webui-port", str(ui_port)],
                              master_log)
        self.write_state(port=port, ui_port=ui_port, master_pid=master.pid)
        wait_until(lambda: "workers" in self.master_info(), "spark: the master", process=master, log=master_log,
                   timeout=START_TIMEOUT, interval=0.25)
        worker = self._launch(WORKER_CLASS, [f"spark://{HOST}:{port}", "--host", HOST,
                                             "--cores", str(self.cores), "--memory", self.memory,
                                             "--webui-port", str(worker_ui), "--work-dir", str(self.folder / "work")],
                              worker_log)
        self.write_state(port=port, ui_port=ui_port, master_pid=master.pid, worker_pid=worker.pid)
        alive = lambda: any(w.get("state") == "ALIVE" for w in self.master_info().get("workers", []))  # noqa: E731
        try:
            wait_until(alive, "spark: the worker", process=worker, log=worker_log, timeout=START_TIMEOUT,
                       interval=0.25)
        except StackError:
            self.stop()
            raise
        self._started_here = True
        status = self.status()
        status.message = f"started: {status.message.removeprefix('running: ')}"
        return status

    def stop(self) -> ServiceStatus:
        state = self.read_state()
        stopped = []
        for key, java_class in (("worker_pid", WORKER_CLASS), ("master_pid", MASTER_CLASS)):
            pid = state.get(key)
            if not process_alive(pid, java_class):
                continue
            terminate(pid, java_class, grace=STOP_GRACE)
            stopped.append(key.split("_")[0])
        status = self.status()
        status.message = f"stopped ({' and '.join(stopped)})" if stopped else f"not running ({status.message})"
        return status

    def env(self) -> dict[str, str]:
        return {"ZOOMCAMP_SPARK_MASTER": self.url} if self.status().running else {}

    def __enter__(self) -> Cluster:
        self._started_here = False
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._started_here:  # a cluster that was already running is left running
            self.stop()
