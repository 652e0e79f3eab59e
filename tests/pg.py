"""A throw-away PostgreSQL/PostGIS cluster for the test session, and the backends tests run on.

The session starts one cluster (``initdb`` into a temporary folder, no fsync, 127.0.0.1 on a free
port), makes a template database with PostGIS and gridmap's schema, and gives each test its own
``CREATE DATABASE t_N TEMPLATE gridmap_tpl``, dropped after. ``GRIDMAP_TEST_BACKENDS=sqlite``
limits the tests to SQLite; otherwise a cluster that cannot start fails the PostgreSQL tests.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import itertools
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ALL_BACKENDS = ("sqlite", "postgresql")
TEMPLATE = "gridmap_tpl"


def backends() -> tuple[str, ...]:
    """The backends tests run on: GRIDMAP_TEST_BACKENDS (comma separated) or both."""
    raw = os.environ.get("GRIDMAP_TEST_BACKENDS", "").strip()
    if not raw:
        return ALL_BACKENDS
    chosen = tuple(b.strip() for b in raw.split(",") if b.strip())
    unknown = [b for b in chosen if b not in ALL_BACKENDS]
    if unknown or not chosen:
        msg = f"GRIDMAP_TEST_BACKENDS={raw!r}: use a comma-separated subset of {', '.join(ALL_BACKENDS)}"
        raise SystemExit(msg)
    return chosen


class ClusterError(RuntimeError):
    """The PostgreSQL cluster could not be found or started."""


def bindir() -> Path:
    """The folder of PostgreSQL's server binaries (initdb, pg_ctl): pg_config's, else the newest."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        done = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if done.returncode == 0:
            candidates.append(Path(done.stdout.strip()))
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name or 0))
    candidates += [Path(p) for p in reversed(found)]
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    msg = (
        "PostgreSQL server binaries (initdb, pg_ctl) not found (pg_config --bindir, /usr/lib/postgresql/*/bin): "
        "run `make sysdeps` (scripts/install_sysdeps.sh) to install PostgreSQL and PostGIS, or set "
        "GRIDMAP_TEST_BACKENDS=sqlite to run the tests on SQLite only"
    )
    raise ClusterError(msg)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cluster:
    """One PostgreSQL cluster in a temporary folder, owned by the test session."""

    def __init__(self) -> None:
        self.bin = bindir()
        self.root = Path(tempfile.mkdtemp(prefix="gridmap-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        self.user = "postgres"
        self._names = itertools.count(1)
        self._running = False
        self._owner: pwd.struct_passwd | None = None
        if os.geteuid() == 0:  # initdb refuses root: run the server as the postgres system user
            try:
                self._owner = pwd.getpwnam("postgres")
            except KeyError as exc:
                msg = "running as root but there is no `postgres` system user to run PostgreSQL as"
                raise ClusterError(msg) from exc
            os.chmod(self.root, 0o755)
            os.chown(self.root, self._owner.pw_uid, self._owner.pw_gid)

    def _run(self, *args: str, timeout: float = 120) -> str:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._owner is not None:
            command = ["runuser", "-u", self._owner.pw_name, "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False, cwd=self.root
        )
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            msg = f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}\n{log}"
            raise ClusterError(msg)
        return done.stdout

    def start(self) -> Cluster:
        self._run(
            "initdb", "-D", str(self.data), "-U", self.user, "-A", "trust", "-E", "UTF8", "--locale=C", "-N"
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# gridmap test session: a throw-away cluster\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.root}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "max_connections = 300\nshared_buffers = 64MB\n"
            )
        for attempt in range(5):
            self.port = _free_port()
            try:
                self._run(
                    "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                    "-o", f"-p {self.port}", "start",
                )  # fmt: skip
                break
            except ClusterError:
                if attempt == 4:
                    raise
                time.sleep(0.2)
        self._running = True
        atexit.register(self.stop)
        self._watchdog()
        self._template()
        return self

    def _watchdog(self) -> None:
        """Stop the cluster and remove its folder when this process dies, even by SIGKILL or a timeout."""
        pg_ctl = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]
        if self._owner is not None:
            pg_ctl = ["runuser", "-u", self._owner.pw_name, "--", *pg_ctl]
        script = (
            f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 2; done; "
            f"{shlex.join(pg_ctl)} >/dev/null 2>&1; rm -rf {shlex.quote(str(self.root))}"
        )
        subprocess.Popen(
            ["sh", "-c", script],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self._running:
            self._running = False
            with contextlib.suppress(ClusterError, subprocess.TimeoutExpired):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)

    # --- databases ----------------------------------------------------------------------
    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str, *, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.user, dbname=database, autocommit=True
        ) as c:
            c.execute(sql)  # type: ignore[arg-type]  (our own literal statements)

    def _template(self) -> None:
        from gridmap.store import Store

        self.execute(f"CREATE DATABASE {TEMPLATE}")
        self.execute("CREATE EXTENSION postgis", database=TEMPLATE)
        store = Store(self.url(TEMPLATE))
        store.engine.dispose()
        self.execute(f"ALTER DATABASE {TEMPLATE} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")

    def create_database(self) -> str:
        """A new database from the template (PostGIS and the current schema), its name."""
        name = f"t_{next(self._names)}"
        self.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE} STRATEGY FILE_COPY")
        return name

    def drop_database(self, name: str) -> None:
        self.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


_cluster: Cluster | None = None
_failure: str | None = None


def cluster() -> Cluster:
    """The session's cluster, started on first use; a clear failure when it cannot start."""
    global _cluster, _failure
    if _failure is not None:
        raise ClusterError(_failure)
    if _cluster is None:
        try:
            _cluster = Cluster().start()
        except (ClusterError, OSError, subprocess.TimeoutExpired) as exc:
            _failure = f"the PostgreSQL test cluster did not start: {exc}"
            raise ClusterError(_failure) from exc
    return _cluster


def stop() -> None:
    if _cluster is not None:
        _cluster.stop()


def database_url(backend: str, folder: Path, name: str = "test") -> tuple[str, str | None]:
    """A fresh database on ``backend``: (url, PostgreSQL database name to drop or None)."""
    if backend == "sqlite":
        return f"sqlite:///{folder / f'{name}.sqlite'}", None
    pg = cluster()
    database = pg.create_database()
    return pg.url(database), database


def drop(database: str | None) -> None:
    if database is not None and _cluster is not None:
        _cluster.drop_database(database)
