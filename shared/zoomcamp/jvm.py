"""The course's JVM side: which Java runs it, and the jars it needs, resolved once from Maven Central.

The artifacts are declared and pinned in ``shared/jvm/pom.xml`` (one Maven module per bundle: ``kafka``,
``debezium-postgres``, ``jdbc-sink``, ``spark-kafka``); ``shared/jvm/jvm.lock`` records every jar each bundle
resolves to (transitive ones too) with its size and SHA-256. ``make setup`` runs :func:`setup`:

- Maven downloads into ``<jvm>/m2`` (its local repository) and copies each bundle to ``<jvm>/lib/<bundle>/``;
- every jar is checked against the lock; a jar that differs or is missing is an error naming it;
- a second setup with the lock unchanged finds ``<jvm>/lib`` complete and does not start Maven at all, and a
  re-resolution tries offline first (``mvn -o``), so only what is missing is downloaded: an interrupted
  download resumes.

Services then take their class path from :func:`classpath` (which checks the bundle is whole: a broken cache is
one line, "run make setup"), never from the network.

The course's own Maven projects (:data:`JAVA_PROJECTS`: week 6's Kafka Streams app) are built once by setup too,
online if need be, so that their dependencies and Maven's plugins (surefire's JUnit provider included) are in
``<jvm>/m2``; :func:`build_java_project` then builds them offline (``mvn -o``). A stamp per project (the hash of
its ``pom.xml``) makes a second setup do nothing.

Class-data sharing (CDS): a short-lived JVM spends half its start-up CPU loading and verifying the same classes
every time. :func:`setup_archives` records them once per machine (:data:`CDS_ARCHIVES`: one representative run of
each, ``-XX:ArchiveClassesAtExit``), and :func:`archive_options` gives the options that map them in ready-made
(Spark's driver starts with half the CPU, a Kafka broker with a third less). An archive's name holds a hash of the
Java and the class path it was made with, so a new Java or other jars never meet a stale archive: they simply run
without one until the next setup.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import CourseError
from .settings import Settings, get_settings, project_root

JAVA_MIN = 17  # Kafka 4 brokers and Connect need Java 17 (Spark 4 too)
STAMP = ".lock-sha256"  # in <jvm>/lib: the hash of the jvm.lock that lib was verified against


class JvmError(CourseError, RuntimeError):
    """Java or Maven is missing, or the course's JVM artifacts cannot be resolved or are damaged."""


def project_dir() -> Path:
    """``shared/jvm``: the Maven project that declares the course's JVM artifacts."""
    return project_root() / "shared" / "jvm"


def lock_file() -> Path:
    return project_dir() / "jvm.lock"


# --- Java and Maven ---------------------------------------------------------------------------------------------
def java_version(executable: str | Path) -> int:
    """The feature version (17, 21 ...) that ``java -version`` reports; 0 when it cannot be run."""
    try:
        out = subprocess.run([str(executable), "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.TimeoutExpired):
        return 0
    found = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not found:
        return 0
    major, minor = int(found.group(1)), int(found.group(2) or 0)
    return minor if major == 1 else major  # "1.8.0_292" is Java 8


def find_java() -> Path | None:
    """``$JAVA_HOME/bin/java``, else the ``java`` on PATH, else None."""
    home = os.environ.get("JAVA_HOME")
    candidate = Path(home) / "bin" / "java" if home else None
    if candidate is None or not candidate.is_file():
        found = shutil.which("java")
        candidate = Path(found) if found else None
    return candidate


def java() -> Path:
    """The ``java`` to run the course's JVM services with (a clear error when missing or older than 17)."""
    candidate = find_java()
    if candidate is None:
        raise JvmError(f"Java is not installed: the course needs Java {JAVA_MIN} or newer "
                       "(`make setup` installs it as root on Debian/Ubuntu; macOS: brew install openjdk@17)")
    version = java_version(candidate)
    if version < JAVA_MIN:
        raise JvmError(f"{candidate} is Java {version or 'of an unknown version'}: the course needs Java {JAVA_MIN} "
                       "or newer (set JAVA_HOME to a newer JDK, or install openjdk-17)")
    return candidate


def maven() -> Path:
    found = shutil.which("mvn")
    if not found:
        raise JvmError("Maven (mvn) is not installed: `make setup` installs it as root on Debian/Ubuntu "
                       "(sudo apt-get install maven; macOS: brew install maven)")
    return Path(found)


# --- the lock -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Jar:
    bundle: str
    file: str
    size: int
    sha256: str

    def line(self) -> str:
        return f"{self.bundle}\t{self.file}\t{self.size}\t{self.sha256}"


def read_lock(path: Path | None = None) -> list[Jar]:
    path = path or lock_file()
    jars = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            bundle, file, size, digest = line.split("\t")
            jars.append(Jar(bundle, file, int(size), digest))
    return jars


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _scan(lib: Path) -> list[Jar]:
    return [Jar(bundle.name, jar.name, jar.stat().st_size, _sha256(jar))
            for bundle in sorted(p for p in lib.iterdir() if p.is_dir())
            for jar in sorted(bundle.glob("*.jar"))]


def _lock_digest() -> str:
    return hashlib.sha256(lock_file().read_bytes()).hexdigest()


def _problems(lib: Path, expected: list[Jar], deep: bool) -> list[str]:
    """What differs between ``lib`` and the lock: missing, changed or unexpected jars (deep: compare SHA-256)."""
    problems = []
    wanted = {(j.bundle, j.file): j for j in expected}
    for (bundle, file), jar in wanted.items():
        path = lib / bundle / file
        if not path.is_file():
            problems.append(f"{bundle}/{file} is missing")
        elif path.stat().st_size != jar.size or (deep and _sha256(path) != jar.sha256):
            problems.append(f"{bundle}/{file} differs from jvm.lock")
    for bundle in {j.bundle for j in expected}:
        for path in sorted((lib / bundle).glob("*.jar")) if (lib / bundle).is_dir() else ():
            if (bundle, path.name) not in wanted:
                problems.append(f"{bundle}/{path.name} is not in jvm.lock")
    return problems


# --- resolving ----------------------------------------------------------------------------------------------------
# How Maven names the artifact it could not get (online, offline, a failed transfer, a cached failure).
_MISSING = re.compile(r"(?:Could not (?:find|transfer) artifact|the artifact|artifacts could not be resolved:|"
                      r"Failure to find)\s+([\w.\-]+:[\w.\-]+:[\w.\-]+:[\w.\-]+)|"
                      r"([\w.\-]+:[\w.\-]+:[\w.\-]+:[\w.\-]+) was not found")


def _maven_error(output: str) -> str:
    """The artifact Maven could not get, from its output (or its first error line)."""
    found = _MISSING.search(output)
    if found:
        return f"could not download {found.group(1) or found.group(2)} from Maven Central"
    errors = [line.replace("[ERROR]", "").strip() for line in output.splitlines() if "[ERROR]" in line]
    errors = [e for e in errors if e]
    return errors[0][:300] if errors else output.strip().splitlines()[-1][:300] if output.strip() else "no output"


def _run_maven(lib: Path, settings: Settings, offline: bool) -> subprocess.CompletedProcess:
    repo = settings.jvm_path / "m2"
    command = [str(maven()), "-B", "-q", *(["-o"] if offline else []), "-s", str(project_dir() / "settings.xml"),
               f"-Dmaven.repo.local={repo}", f"-Djvm.lib={lib}", "-f", str(project_dir() / "pom.xml"), "package"]
    env = {**os.environ, "JAVA_HOME": str(java().resolve().parents[1])}  # Maven runs on the same Java
    return subprocess.run(command, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)


def _resolve(target: Path, settings: Settings) -> None:
    """Maven resolves every bundle into ``target`` (offline first: nothing is downloaded twice)."""
    shutil.rmtree(target, ignore_errors=True)
    done = _run_maven(target, settings, offline=True)
    if done.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        done = _run_maven(target, settings, offline=False)
    if done.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        raise JvmError(f"jvm: {_maven_error(done.stdout + done.stderr)}; run `make setup` again to resume "
                       f"(what was downloaded is kept in {settings.jvm_path / 'm2'})")


@dataclass
class SetupResult:
    lib: Path
    resolved: bool  # False: lib was already complete (nothing ran)
    jars: int


def setup(settings: Settings | None = None) -> SetupResult:
    """Make ``<jvm>/lib`` hold exactly the jars of ``jvm.lock`` (see the module's docstring)."""
    settings = settings or get_settings()
    lib = settings.jvm_path / "lib"
    expected = read_lock()
    stamp = lib / STAMP
    if stamp.is_file() and stamp.read_text().strip() == _lock_digest() and not _problems(lib, expected, deep=False):
        return SetupResult(lib, False, len(expected))
    java()
    fresh = settings.jvm_path / "lib.partial"
    _resolve(fresh, settings)
    problems = _problems(fresh, expected, deep=True)
    if problems:
        raise JvmError(f"jvm: {problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
                       + ": Maven resolved other jars than shared/jvm/jvm.lock records; after changing "
                       "shared/jvm/pom.xml run `make jvm-lock`")
    (fresh / STAMP).write_text(_lock_digest() + "\n")
    old = settings.jvm_path / "lib.old"
    shutil.rmtree(old, ignore_errors=True)
    if lib.exists():
        lib.rename(old)
    fresh.rename(lib)  # a reader sees the whole old set or the whole new one
    shutil.rmtree(old, ignore_errors=True)
    return SetupResult(lib, True, len(expected))


def write_lock(settings: Settings | None = None) -> Path:
    """Resolve the bundles of ``pom.xml`` and record their jars in ``jvm.lock`` (``make jvm-lock``)."""
    settings = settings or get_settings()
    fresh = settings.jvm_path / "lib.partial"
    _resolve(fresh, settings)
    jars = _scan(fresh)
    header = ("# The jars each bundle of shared/jvm/pom.xml resolves to: bundle, file, size, SHA-256.\n"
              "# Written by `make jvm-lock`; checked by `make setup` (zoomcamp jvm setup). Do not edit by hand.\n")
    lock_file().write_text(header + "".join(j.line() + "\n" for j in jars))
    shutil.rmtree(fresh, ignore_errors=True)
    return lock_file()


# --- the course's own Maven projects -------------------------------------------------------------------------
JAVA_PROJECTS = ("week_6_streaming/java",)  # relative to the project root


def _project_maven(pom: Path, settings: Settings, goals: list[str], offline: bool) -> subprocess.CompletedProcess:
    command = [str(maven()), "-B", "-q", *(["-o"] if offline else []), "-s", str(project_dir() / "settings.xml"),
               f"-Dmaven.repo.local={settings.jvm_path / 'm2'}", "-f", str(pom), *goals]
    env = {**os.environ, "JAVA_HOME": str(java().resolve().parents[1])}
    return subprocess.run(command, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)


def _project_stamp(path: Path, settings: Settings) -> Path:
    return settings.jvm_path / "projects" / (str(path.relative_to(project_root())).replace("/", "+") + ".pom-sha256")


def prepare_project(path: Path, settings: Settings | None = None) -> bool:
    """Build a Maven project once with its tests, online if need be, so that every later build runs offline
    (``package`` also fetches what ``go-offline`` misses: surefire's JUnit provider). False: already prepared."""
    settings = settings or get_settings()
    stamp = _project_stamp(path, settings)
    digest = hashlib.sha256((path / "pom.xml").read_bytes()).hexdigest()
    if stamp.is_file() and stamp.read_text().strip() == digest:
        return False
    done = _project_maven(path / "pom.xml", settings, ["package"], offline=True)
    if done.returncode != 0:
        done = _project_maven(path / "pom.xml", settings, ["package"], offline=False)
    if done.returncode != 0:
        raise JvmError(f"jvm: {path.relative_to(project_root())}: {_maven_error(done.stdout + done.stderr)}")
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest + "\n")
    return True


def prepare_projects(settings: Settings | None = None) -> list[str]:
    """:func:`prepare_project` for each of :data:`JAVA_PROJECTS`; the ones that were built."""
    return [name for name in JAVA_PROJECTS if prepare_project(project_root() / name, settings)]


def build_java_project(path: str | Path, settings: Settings | None = None, tests: bool = False) -> Path:
    """``mvn -o package`` of a course project (relative paths from the project root); returns the jar it made.
    Without ``tests`` the unit tests are skipped (``mvn -o test`` runs them), and a jar newer than the pom and every
    main source is returned as it is (no Maven run)."""
    settings = settings or get_settings()
    path = project_root() / path
    jars = sorted((path / "target").glob("*.jar"))
    if not tests and len(jars) == 1 and _newer_than_sources(jars[0], path):
        return jars[0]  # as make does: setup or an earlier build made it from these sources (Maven: ~5 CPU-s)
    done = _project_maven(path / "pom.xml", settings, ["package", *([] if tests else ["-DskipTests"])], offline=True)
    if done.returncode != 0:
        raise JvmError(f"building {path.name}: {_maven_error(done.stdout + done.stderr)} "
                       "(offline: if a dependency is missing, run `make setup`)")
    jars = sorted((path / "target").glob("*.jar"))
    if len(jars) != 1:
        raise JvmError(f"building {path.name}: expected one jar in {path / 'target'}, found {len(jars)}")
    return jars[0]


def _newer_than_sources(jar: Path, project: Path) -> bool:
    """Whether ``jar`` was written after the project's pom.xml and every file of its main sources."""
    built = jar.stat().st_mtime_ns
    sources = [project / "pom.xml", *(p for p in (project / "src" / "main").rglob("*") if p.is_file())]
    return all(p.stat().st_mtime_ns < built for p in sources)


# --- using ---------------------------------------------------------------------------------------------------------
def bundle_dir(bundle: str, settings: Settings | None = None) -> Path:
    """``<jvm>/lib/<bundle>``, checked against the lock (sizes): a clear error when setup did not run or a jar
    was damaged since."""
    settings = settings or get_settings()
    expected = [j for j in read_lock() if j.bundle == bundle]
    if not expected:
        raise JvmError(f"jvm: no bundle {bundle!r} in shared/jvm/jvm.lock "
                       f"(bundles: {', '.join(sorted({j.bundle for j in read_lock()}))})")
    lib = settings.jvm_path / "lib"
    problems = _problems(lib, expected, deep=False)
    if problems:
        raise JvmError(f"the course's JVM artifacts are not set up ({problems[0]} in {lib}): run `make setup`")
    return lib / bundle


def classpath(bundle: str, settings: Settings | None = None) -> list[Path]:
    """Every jar of a bundle, in a stable order."""
    return sorted(bundle_dir(bundle, settings).glob("*.jar"))


# --- class-data sharing archives -------------------------------------------------------------------------------------
# Each archive and who makes it: "module:function", called with the settings, which makes it with make_archive (True:
# it was made). Spark's driver, executors, master and worker share one (they have the same class path).
CDS_ARCHIVES = {"spark": "zoomcamp.spark.runtime:make_cds_archive", "kafka": "zoomcamp.stack.kafka:make_cds_archive"}
# A JVM given an archive it cannot use (another Java, another class path) runs without it and says so on stdout, in a
# notebook's output: the key below prevents that, and this silences it if it happens anyway.
_CDS_QUIET = "-Xlog:cds=off,cds+dynamic=off"


def archive_path(name: str, classpath: Iterable[str | Path], settings: Settings | None = None) -> Path | None:
    """``<jvm>/cds/<name>-<key>.jsa``: the key hashes the Java (its path, its libjvm) and the class path (each jar's
    name, size and time), so a changed one never meets an old archive. None when there is no Java."""
    settings = settings or get_settings()
    executable = find_java()
    if executable is None:
        return None
    executable = executable.resolve()
    parts = [str(executable)]
    for path in [executable.parents[1] / "lib" / "server" / "libjvm.so", *map(Path, classpath)]:
        try:
            stat = path.stat()
            parts.append(f"{path}\t{stat.st_size}\t{stat.st_mtime_ns}")
        except OSError:
            parts.append(f"{path}\tmissing")
    key = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
    return settings.jvm_path / "cds" / f"{name}-{key}.jsa"


def archive_options(name: str, classpath: Iterable[str | Path], settings: Settings | None = None) -> str:
    """JVM options that use the archive ``name`` made for this Java and class path; "" when there is none (the
    JVM then starts as usual, only slower)."""
    path = archive_path(name, classpath, settings)
    return f"-XX:SharedArchiveFile={path} {_CDS_QUIET}" if path is not None and path.is_file() else ""


def make_archive(name: str, classpath: Iterable[str | Path], run: Callable[[str], None],
                 settings: Settings | None = None) -> bool:
    """Make the archive ``name`` once: ``run(options)`` must start the JVM with ``options`` and do representative
    work; at its exit the JVM writes the classes it loaded. False: the archive existed. Two setups at once make it
    once (a lock), and a reader never sees half an archive (written aside, then renamed)."""
    settings = settings or get_settings()
    classpath = list(classpath)
    path = archive_path(name, classpath, settings)
    if path is None:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.is_file():
            return False
        partial = path.with_name(f"{path.name}.partial-{os.getpid()}")
        try:
            run(f"-XX:ArchiveClassesAtExit={partial}")
            if not partial.is_file():
                raise JvmError(f"jvm: the {name} JVM wrote no class-data archive ({partial.name})")
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        for old in path.parent.glob(f"{name}-*.jsa"):  # made for an earlier Java or class path: 150 MB each
            if old != path:
                old.unlink(missing_ok=True)
    return True


def setup_archives(settings: Settings | None = None) -> list[str]:
    """Make each of :data:`CDS_ARCHIVES` that is missing, side by side (each is one JVM run of its own, locked and
    written aside); the names of those made."""
    from concurrent.futures import ThreadPoolExecutor

    settings = settings or get_settings()

    def make(maker: str) -> bool:
        module, function = maker.split(":")
        return getattr(importlib.import_module(module), function)(settings)

    with ThreadPoolExecutor(max_workers=len(CDS_ARCHIVES)) as pool:
        made = dict(zip(CDS_ARCHIVES, pool.map(make, CDS_ARCHIVES.values()), strict=True))
    return [name for name, was_made in made.items() if was_made]
