"""The server-side ``vidonate`` commands: serve the web app, run the job worker, migrate.

One deployment can run them as one process (``vidonate serve``: the embedded default, jobs
in threads of the server) or apart: servers with ``serve --no-worker`` and the jobs in
``vidonate worker`` processes. They meet only in the database and the blob store, which
the ``VIDONATE_`` settings name; the code path is the same.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from vidonate.cli_common import err
from vidonate.config import Settings, UnknownSetting, load_settings

if TYPE_CHECKING:
    # The runtime imports the whole server; commands load it only when they run.
    from vidonate.runtime import Runtime

server_app = typer.Typer()
console = Console()


def settings_or_exit() -> Settings:
    """The server's settings; a misspelled ``VIDONATE_`` variable stops the command."""
    try:
        return load_settings()
    except UnknownSetting as exc:
        err.print(f"[red]error[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def runtime_or_exit(settings: Settings | None = None) -> Runtime:
    """A runtime on a migrated database (nothing seeded)."""
    from vidonate.server import prepare

    return prepare(settings or settings_or_exit(), seed=False).runtime


@server_app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (make run HOST=...).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to listen on (make run PORT=8100).")] = 8000,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker/--no-worker",
            help="Run background jobs in this process too; --no-worker leaves them to "
            "`vidonate worker` processes.",
        ),
    ] = True,
) -> None:
    """Migrate, seed once (admin account and demo campaign) and serve the web app and API.

    `make run` passes HOST and PORT through: `make run PORT=8100`.
    """
    import uvicorn

    from vidonate.server import prepare
    from vidonate.web.app import create_app
    from vidonate.web.protocol import uvicorn_options

    settings = settings_or_exit()
    prepared = prepare(settings)
    if prepared.new_admin_password:
        console.print(
            f"[bold green]Admin account created[/]: username [bold]"
            f"{prepared.admin_username}[/], password [bold]"
            f"{prepared.new_admin_password}[/] (shown once; keep it)"
        )
    jobs = "jobs run here" if worker else "jobs left to `vidonate worker`"
    console.print(
        f"Serving on http://{host}:{port} (API docs at /docs; {jobs}); "
        f"data in {settings.var_dir.resolve()}"
    )
    uvicorn.run(
        create_app(prepared.runtime, run_worker=worker),
        host=host,
        port=port,
        log_level="info",
        **uvicorn_options(settings),
    )


@server_app.command("worker")
def run_worker(
    concurrency: Annotated[
        int, typer.Option(min=1, help="Jobs run at once (one thread each).")
    ] = 1,
) -> None:
    """Run background jobs (processing, deletions, housekeeping) without serving, until
    Ctrl-C or SIGTERM. A job running then is finished first, or, past 30 s, left to
    another worker once its lease lapses."""
    settings = settings_or_exit().model_copy(update={"worker_threads": concurrency})
    rt = runtime_or_exit(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stop)
    rt.start()
    console.print(
        f"Worker running up to {concurrency} job(s) at once; data in "
        f"{settings.var_dir.resolve()}. Stop with Ctrl-C."
    )
    try:
        stop.wait()
    finally:
        rt.close()
    console.print("worker stopped")


@server_app.command()
def migrate() -> None:
    """Apply the database migrations."""
    from vidonate.db.migrate import upgrade

    upgrade(settings_or_exit().database_url)
    console.print("database is up to date")


@server_app.command()
def process() -> None:
    """Run every pending background job now, then exit."""
    rt = runtime_or_exit()
    ran = rt.worker.run_pending()
    console.print(f"ran {ran} jobs")
