"""A whole multi-process deployment on one machine, every port on 127.0.0.1.

``Cluster(root).up()`` lays out and starts, under the one directory ``root``:

* its own PostgreSQL (database ``vidonate``: the app's tables and Procrastinate's queue),
* its own Redis (the servers' shared rate-limit counts),
* its own SeaweedFS (the S3 blob store, bucket ``vidonate``),
* ``vidonate migrate`` once, then 2 servers (``serve --no-worker``) and 2 workers,
* nginx (deploy/nginx.conf) balancing the servers.

Every process runs detached (a session of its own, output in ``root/logs/<name>.log``),
so they outlive the command that started them; ``root/cluster.json`` records each one's
command, pid and ports, so that ``down()`` from any other process stops them all. Starting
again after ``down()`` reuses the layout: the same ports, keys and data.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import vidonate
from vidonate.ops.seaweed import PORT_NAMES, SeaweedServer, weed_binary
from vidonate.secret_file import create_private_file

SRC = Path(vidonate.__file__).resolve().parents[1]
TEMPLATE = SRC.parent / "deploy" / "nginx.conf"
STATE = "cluster.json"
DATABASE = "vidonate"
BUCKET = "vidonate"
# What `up` waits for: served by every server without touching the database, so it says
# "this process answers HTTP" (the database is checked on its own).
HEALTH_PATH = "/openapi.json"
SERVERS = ("server-1", "server-2")
WORKERS = ("worker-1", "worker-2")
INFRA = ("postgres", "redis", "seaweed")
# Start order; `down` stops in the reverse order (clients before what they talk to).
ORDER = (*INFRA, *SERVERS, *WORKERS, "nginx")
# Where each part listens, as an offset from a fixed base port; the 10 further ports
# of SeaweedFS follow the S3 one.
OFFSETS = {"nginx": 0, "server-1": 1, "server-2": 2, "postgres": 3, "redis": 4, "seaweed": 5}
# PostgreSQL's fast shutdown (SIGTERM waits for every client to leave; SIGINT ends them).
STOP_SIGNALS = {"postgres": signal.SIGINT}


class ClusterError(RuntimeError):
    """A part of the cluster did not come up (the message names it and shows its log)."""


@dataclass
class Proc:
    """One process of the cluster: how to start it, and the one running now."""

    name: str
    command: list[str]
    log: str
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    cwd: str | None = None
    pid: int | None = None
    # The kernel's start time of `pid`: a pid reused by an unrelated process after ours
    # ended has another, so `down` never signals a stranger.
    started: int | None = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat; None if the process is gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"


def _postgres_bin(name: str) -> str:
    """A PostgreSQL server binary (initdb, postgres): the newest installed version's."""
    found = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3])
    )
    if found:
        return str(found[-1])
    on_path = shutil.which(name)
    if on_path is None:
        raise ClusterError(f"postgres: no {name} binary (apt install postgresql)")
    return on_path


def missing_binaries() -> list[str]:
    """What the cluster needs and this machine lacks (empty when it can run)."""
    missing = []
    for name in ("initdb", "postgres"):
        try:
            _postgres_bin(name)
        except ClusterError:
            missing.append(name)
    for name, path in (("nginx", "/usr/sbin/nginx"), ("redis-server", None)):
        if not (Path(path).exists() if path else shutil.which(name)):
            missing.append(name)
    try:
        weed_binary()
    except RuntimeError:
        missing.append("weed")
    if not TEMPLATE.exists():
        missing.append(str(TEMPLATE))
    return missing


def _nginx_binary() -> str:
    return "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else shutil.which("nginx") or ""


class Cluster:
    """The processes of one deployment under ``root`` (see the module's docstring).

    ``base_port`` fixes the ports (nginx on it, the rest above it); by default free ones
    are picked when the layout is first made. ``progress`` receives a line per step.
    """

    def __init__(
        self,
        root: Path,
        base_port: int | None = None,
        progress: Callable[[str], None] | None = None,
        timeout_s: float = 90.0,
        settings: dict[str, str] | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        # Further VIDONATE_ settings for every vidonate process of the cluster (the fault
        # tests shorten the job lease, so a dead worker's job comes back in seconds).
        self.settings = dict(settings or {})
        self.base_port = base_port
        self.progress = progress or (lambda _message: None)
        self.timeout_s = timeout_s
        self.procs: dict[str, Proc] = {}
        self.ports: dict[str, int] = {}
        self.seaweed_ports: dict[str, int] = {}
        self.s3_keys: dict[str, str] = {}
        self.admin_password: str | None = None
        # Processes this object started: waited for once they end, so none lingers as a
        # zombie (which /proc would still list) in a long-lived caller such as the tests.
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        if (self.root / STATE).exists():
            self._load()

    # --- where things are ---------------------------------------------------------

    @property
    def url(self) -> str:
        """The cluster's public URL: nginx."""
        return f"http://127.0.0.1:{self.ports['nginx']}"

    @property
    def server_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{self.ports[name]}" for name in SERVERS]

    @property
    def database_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.ports['postgres']}/{DATABASE}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.ports['redis']}/0"

    def log(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"

    def _seaweed(self) -> SeaweedServer:
        return SeaweedServer(
            self.root / "seaweed",
            access_key=self.s3_keys["access_key"],
            secret_key=self.s3_keys["secret_key"],
            bucket=BUCKET,
            s3_port=self.ports["seaweed"],
            ports=self.seaweed_ports,
        )

    def env(self, var_dir: Path | None = None) -> dict[str, str]:
        """The variables a ``vidonate`` process needs to work on this cluster: its
        database, blob store, keys and rate-limit store, and the API (VIDONATE_SERVER).
        Merge them into an environment without other ``VIDONATE_`` variables."""
        return {
            "VIDONATE_DATABASE_URL": self.database_url,
            "VIDONATE_STORAGE_URL": self._seaweed().storage_url("clips"),
            "VIDONATE_QUEUE_URL": "",  # Procrastinate on the PostgreSQL database
            "VIDONATE_RATE_LIMIT_STORAGE_URL": self.redis_url,
            "VIDONATE_MASTER_KEY_FILE": str(self.root / "master.key"),
            "VIDONATE_SECRET_KEY": (self.root / "secret_key").read_text().strip(),
            "VIDONATE_BASE_URL": self.url,
            "VIDONATE_VAR_DIR": str(var_dir or self.root / "var" / "cli"),
            "VIDONATE_SERVER": self.url,
            **self._seaweed().environment(),
            **self.settings,
        }

    # --- the layout ---------------------------------------------------------------

    def _load(self) -> None:
        state = json.loads((self.root / STATE).read_text())
        self.ports = state["ports"]
        self.seaweed_ports = state["seaweed_ports"]
        self.s3_keys = state["s3_keys"]
        self.admin_password = state.get("admin_password")
        self.settings = {**state.get("settings", {}), **self.settings}
        self.procs = {name: Proc(**spec) for name, spec in state["processes"].items()}

    def _save(self) -> None:
        state = {
            "root": str(self.root),
            "url": self.url,
            "server_urls": self.server_urls,
            "ports": self.ports,
            "seaweed_ports": self.seaweed_ports,
            "s3_keys": self.s3_keys,
            "admin_password": self.admin_password,
            "settings": self.settings,
            "env": self.env(),
            "processes": {name: asdict(proc) for name, proc in self.procs.items()},
        }
        path = self.root / STATE
        temporary = path.with_suffix(".tmp")
        # It holds the keys of the blob store and the cookie-signing secret.
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(state, out, indent=2)
        temporary.replace(path)

    def _layout(self) -> None:
        """Directories, keys, ports and every process's command line, made once."""
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "logs").mkdir(exist_ok=True)
        create_private_file(self.root / "master.key", secrets.token_bytes(32))
        create_private_file(self.root / "secret_key", secrets.token_urlsafe(48).encode())
        names = [*OFFSETS, *PORT_NAMES]
        if self.base_port is not None:
            self.ports = {name: self.base_port + offset for name, offset in OFFSETS.items()}
            first = self.base_port + len(OFFSETS)
            self.seaweed_ports = {n: first + i for i, n in enumerate(PORT_NAMES)}
        else:
            picked = _distinct_free_ports(len(names))
            self.ports = dict(zip(OFFSETS, picked, strict=False))
            self.seaweed_ports = dict(zip(PORT_NAMES, picked[len(OFFSETS) :], strict=True))
        self.s3_keys = {
            "access_key": "vidonate-" + secrets.token_hex(4),
            "secret_key": secrets.token_urlsafe(30),
        }
        self._init_postgres()
        self.procs = {name: self._spec(name) for name in ORDER}
        self._save()

    def _spec(self, name: str) -> Proc:
        log = str(self.log(name))
        if name == "postgres":
            data = self.root / "pg" / "data"
            command = [
                _postgres_bin("postgres"),
                "-D",
                str(data),
                "-p",
                str(self.ports["postgres"]),
                "-c",
                "listen_addresses=127.0.0.1",
                # TCP only: no socket file in a shared directory such as /var/run.
                "-c",
                "unix_socket_directories=",
            ]
            return Proc(name, command, log, user=_postgres_user(), cwd=str(data.parent))
        if name == "redis":
            port = str(self.ports["redis"])
            command = [shutil.which("redis-server") or "redis-server", "--port", port]
            command += ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            return Proc(name, [*command, "--daemonize", "no"], log, cwd=str(self.root))
        if name == "seaweed":
            return Proc(name, self._seaweed().command(), log, cwd=str(self.root))
        if name == "nginx":
            prefix = self.root / "nginx"
            conf = self._render_nginx(prefix)
            command = [_nginx_binary(), "-p", str(prefix), "-c", str(conf)]
            command += ["-e", str(prefix / "logs" / "error.log"), "-g", "daemon off;"]
            return Proc(name, command, log, cwd=str(prefix))
        var_dir = self.root / "var" / name
        env = {"VIDONATE_VAR_DIR": str(var_dir)}
        if name in SERVERS:
            args = ["serve", "--no-worker", "--host", "127.0.0.1"]
            args += ["--port", str(self.ports[name])]
            # nginx on loopback passes the client's address in X-Forwarded-For.
            env["VIDONATE_TRUSTED_PROXIES"] = "127.0.0.1"
        else:
            args = ["worker", "--concurrency", "1"]
        return Proc(name, self._vidonate(*args), log, env=env, cwd=str(self.root))

    def _vidonate(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "vidonate.cli", *args]

    def _render_nginx(self, prefix: Path) -> Path:
        for sub in ("logs", "temp"):
            (prefix / sub).mkdir(parents=True, exist_ok=True)
        servers = "\n".join(
            f"        server 127.0.0.1:{self.ports[name]} max_fails=1 fail_timeout=5s;"
            for name in SERVERS
        )
        # The master process runs as whoever starts it; as root, its workers would be
        # `nobody`, who cannot write the temp and log files under a private root.
        user = "user root;" if os.geteuid() == 0 else ""
        text = TEMPLATE.read_text()
        for key, value in {
            "@USER@": user,
            "@PREFIX@": str(prefix),
            "@LISTEN@": f"127.0.0.1:{self.ports['nginx']}",
            "@SERVERS@": servers,
        }.items():
            text = text.replace(key, value)
        conf = prefix / "nginx.conf"
        conf.write_text(text)
        return conf

    def _init_postgres(self) -> None:
        data = self.root / "pg" / "data"
        if (data / "PG_VERSION").exists():
            return
        self.progress("postgres: initdb")
        data.mkdir(parents=True, exist_ok=True)
        user = _postgres_user()
        if user is not None:
            _traversable_by(user, self.root)
            entry = pwd.getpwnam(user)
            for path in (data.parent, data):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        data.chmod(0o700)
        command = [_postgres_bin("initdb"), "-D", str(data), "-U", "postgres"]
        command += ["--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]
        log = self.log("initdb")
        with log.open("ab") as out:
            done = subprocess.run(
                command, stdout=out, stderr=subprocess.STDOUT, cwd=data.parent, **_as(user)
            )
        if done.returncode != 0:
            raise ClusterError(f"postgres: initdb failed:\n{_tail(log)}")

    # --- processes ------------------------------------------------------------------

    def running(self, name: str) -> bool:
        proc = self.procs.get(name)
        if proc is None or proc.pid is None:
            return False
        child = self._children.get(name)
        if child is not None and child.poll() is not None:
            return False
        return _start_time(proc.pid) == proc.started

    def status(self) -> dict[str, bool]:
        """Whether each process of the cluster runs."""
        return {name: self.running(name) for name in ORDER}

    def _launch(self, name: str) -> None:
        proc = self.procs[name]
        if self.running(name):
            return
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIDONATE_")}
        if proc.command[:3] == self._vidonate()[:3]:
            env.update(self.env())
            # The children run this very code, whatever is installed.
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
        env.update(proc.env)
        with open(proc.log, "ab") as out:
            child = subprocess.Popen(
                proc.command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=proc.cwd,
                start_new_session=True,
                **_as(proc.user),
            )
        self._children[name] = child
        proc.pid = child.pid
        proc.started = _start_time(child.pid)
        self._save()

    def start(self, name: str) -> None:
        """Start one process (again) and wait until it answers."""
        self._launch(name)
        self._wait_ready(name)

    def kill(self, name: str, sig: int = signal.SIGKILL, wait_s: float = 30.0) -> None:
        """Send ``sig`` to one process; for SIGTERM, SIGINT or SIGKILL wait until it ends."""
        proc = self.procs[name]
        if not self.running(name) or proc.pid is None:
            return
        os.kill(proc.pid, sig)
        if sig in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL):
            self._wait_gone(name, wait_s)

    def _wait_gone(self, name: str, within_s: float) -> bool:
        deadline = time.monotonic() + within_s
        while self.running(name):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        child = self._children.pop(name, None)
        if child is not None:
            child.wait()
        return True

    def stop(self, name: str, timeout_s: float = 20.0) -> None:
        """SIGTERM (PostgreSQL: SIGINT, its fast shutdown), then SIGKILL after timeout_s."""
        proc = self.procs[name]
        if not self.running(name) or proc.pid is None:
            return
        self.progress(f"{name}: stopping")
        # It may end by itself between the check and the signal.
        with suppress(ProcessLookupError):
            os.kill(proc.pid, STOP_SIGNALS.get(name, signal.SIGTERM))
        if not self._wait_gone(name, timeout_s):
            # The whole session: a worker's media child or nginx's workers too.
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            self._wait_gone(name, 10)

    # --- up and down ----------------------------------------------------------------

    def up(self) -> None:
        """Start every process and return once each answers; ClusterError names a part
        that did not (and what it started is stopped again)."""
        if missing := missing_binaries():
            raise ClusterError(f"missing: {', '.join(missing)}")
        if not self.procs:
            self._layout()
        elif any(self.status().values()):
            raise ClusterError(f"already running under {self.root} (vidonate cluster down)")
        else:
            # Same ports and data; the template or binaries may have moved on.
            self.procs = {name: self._spec(name) for name in ORDER}
        try:
            for name in INFRA:
                self.progress(f"{name}: starting")
                self._launch(name)
            for name in INFRA:
                self._wait_ready(name)
            self._create_database()
            self._migrate()
            # The servers seed the admin account and the demo campaign; one at a time,
            # so that two of them never race to create the same rows.
            for name in (*WORKERS, *SERVERS):
                self.progress(f"{name}: starting")
                self._launch(name)
                if name in SERVERS:
                    self._wait_ready(name)
            for name in WORKERS:
                self._wait_ready(name)
            self.progress("nginx: starting")
            self._launch("nginx")
            self._wait_ready("nginx")
        except BaseException:
            self.down()
            raise
        self.admin_password = self.admin_password or _admin_password(self.log("server-1"))
        self._save()

    def down(self) -> None:
        """Stop every process of the cluster that runs, clients first."""
        for name in reversed(ORDER):
            if name in self.procs:
                self.stop(name)
        if self.procs:
            self._save()

    def _migrate(self) -> None:
        self.progress("migrate: vidonate migrate")
        log = self.log("migrate")
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIDONATE_")}
        env.update(self.env(self.root / "var" / "migrate"))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
        with log.open("ab") as out:
            done = subprocess.run(
                self._vidonate("migrate"),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.root,
                timeout=self.timeout_s,
            )
        if done.returncode != 0:
            raise ClusterError(f"migrate: vidonate migrate failed:\n{_tail(log)}")

    def _create_database(self) -> None:
        import psycopg

        admin = f"postgresql://postgres@127.0.0.1:{self.ports['postgres']}/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
            ).fetchone()
            if exists is None:
                self.progress(f"postgres: creating database {DATABASE}")
                conn.execute(f'CREATE DATABASE "{DATABASE}"')

    def _wait_ready(self, name: str) -> None:
        check = self._readiness(name)
        deadline = time.monotonic() + self.timeout_s
        while True:
            if not self.running(name):
                raise ClusterError(f"{name} exited while starting:\n{_tail(self.log(name))}")
            if check():
                self.progress(f"{name}: up")
                return
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"{name} did not come up in {self.timeout_s:.0f} s:\n{_tail(self.log(name))}"
                )
            time.sleep(0.2)

    def _readiness(self, name: str) -> Callable[[], bool]:
        if name == "postgres":
            return lambda: _pg_accepts(self.ports["postgres"])
        if name == "redis":
            return lambda: _redis_pings(self.ports["redis"])
        if name == "seaweed":
            return self._seaweed().ready
        if name in WORKERS:
            # Printed once the worker's runtime has started its job threads.
            return lambda: "Worker running" in _tail(self.log(name), 20_000)
        url = self.url if name == "nginx" else f"http://127.0.0.1:{self.ports[name]}"
        return lambda: _http_ok(url + HEALTH_PATH)


def _distinct_free_ports(count: int) -> list[int]:
    """``count`` different free ports (the sockets are held open until all are picked)."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _postgres_user() -> str | None:
    """PostgreSQL refuses to run as root: then it runs as the `postgres` account."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise ClusterError("postgres: running as root needs a `postgres` account") from None
    return "postgres"


def _as(user: str | None) -> dict[str, Any]:
    """Popen's arguments to run as ``user`` (its group too); none for ourselves."""
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _traversable_by(user: str, root: Path) -> None:
    """Open ``root`` for ``user`` to reach its data directory, or say which parent is
    closed (pytest's /tmp/pytest-of-root is 0700)."""
    root.chmod(root.stat().st_mode | 0o711)
    entry = pwd.getpwnam(user)
    for parent in root.parents:
        mode = parent.stat()
        if mode.st_uid != entry.pw_uid and not mode.st_mode & 0o001:
            raise ClusterError(
                f"postgres: the `{user}` account cannot enter {parent} (mode "
                f"{mode.st_mode & 0o777:o}): choose a root outside it"
            )


def _pg_accepts(port: int) -> bool:
    import psycopg

    try:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def _redis_pings(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _http_ok(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def _admin_password(log: Path) -> str | None:
    """The admin password the first server printed when it created the account."""
    # rich wraps the line at 80 columns in a log file: match across the break.
    found = re.search(r"Admin account created.*?password\s+(\S+)", _tail(log, 200_000), re.S)
    return found.group(1) if found else None


@contextmanager
def running_cluster(root: Path, **options: Any) -> Iterator[Cluster]:
    """A cluster up for the block, and down after it."""
    cluster = Cluster(root, **options)
    cluster.up()
    try:
        yield cluster
    finally:
        cluster.down()
