"""Starting the server: migrate, seed, serve. Also a background server for the demo and tests."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import uvicorn

from vidonate.config import Settings
from vidonate.db.engine import transaction
from vidonate.db.migrate import upgrade
from vidonate.runtime import Runtime
from vidonate.seed import ensure_admin, ensure_demo_campaign
from vidonate.web.app import create_app
from vidonate.web.protocol import uvicorn_options


@dataclass(frozen=True)
class Prepared:
    runtime: Runtime
    admin_username: str
    new_admin_password: str | None


def prepare(settings: Settings, *, seed: bool = True) -> Prepared:
    """Apply migrations and, with ``seed``, create the admin account and the demo
    campaign once. Without it no account is made whose password nobody would see."""
    upgrade(settings.database_url)
    runtime = Runtime.from_settings(settings)
    if not seed:
        return Prepared(runtime, "", None)
    with transaction(runtime.sessions) as session:
        admin, password = ensure_admin(session)
        ensure_demo_campaign(session)
        username = admin.username
    return Prepared(runtime, username, password)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class BackgroundServer:
    """uvicorn in a thread on a loopback port: real HTTP, for the demo and the tests."""

    def __init__(
        self,
        runtime: Runtime,
        host: str = "127.0.0.1",
        port: int | None = None,
        run_worker: bool = True,
    ) -> None:
        self.port = port or free_port(host)
        self.url = f"http://{host}:{self.port}"
        config = uvicorn.Config(
            create_app(runtime, run_worker=run_worker),
            host=host,
            port=self.port,
            log_level="warning",
            lifespan="on",
            **uvicorn_options(runtime.settings),
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="vidonate-http", daemon=True)

    def __enter__(self) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the HTTP server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(30)
