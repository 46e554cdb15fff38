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
    ran = rt.jobs.run_pending()
    console.print(f"ran {ran} jobs")


@server_app.command()
def fsck(
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Delete orphan blobs and the bytes of shredded clips (never a referenced "
            "blob); missing blobs cannot be repaired and are only reported.",
        ),
    ] = False,
    grace: Annotated[
        float,
        typer.Option(
            "--grace",
            min=0,
            metavar="SECONDS",
            help="With --repair: delete only what is still unreferenced this long after the "
            "first scan (bytes are written before the row naming them commits).",
        ),
    ] = 30.0,
) -> None:
    """Compare the database with the blob store: orphan, missing and shredded blobs.

    Exits 0 when nothing is left to report (after repairing, with --repair), else 1.
    """
    from rich.markup import escape
    from rich.table import Table

    from vidonate.ops import fsck as ops

    rt = runtime_or_exit()
    try:
        with console.status("checking the blob store against the database") as status:

            def progress(message: str) -> None:
                status.update(f"fsck: {message}")

            if repair:
                report, removed = ops.repair(
                    rt.sessions, rt.store, rt.jobs, grace, progress=progress
                )
            else:
                report, removed = ops.check(rt.sessions, rt.store, rt.jobs, progress), 0
    finally:
        rt.close()
    table = Table(title="vidonate fsck", show_header=False)
    table.add_row("blobs", str(report.blobs))
    table.add_row("orphans", str(len(report.orphans)))
    table.add_row("missing", str(len(report.missing)))
    table.add_row("shredded", str(len(report.shredded)))
    table.add_row("pending deletions", f"{report.pending_deletions} job(s)")
    if repair:
        table.add_row("removed", str(removed))
    console.print(table)
    shown = 20
    sections = (
        ("orphans", "no row refers to them", report.orphans),
        ("missing", "rows refer to them; cannot be repaired", report.missing),
        ("shredded", "their key is destroyed; the bytes remain", report.shredded),
    )
    for name, meaning, keys in sections:
        if not keys:
            continue
        console.print(f"[bold]{name}[/] ({len(keys)}: {meaning})")
        for key in keys[:shown]:
            console.print(f"  {escape(key)}", soft_wrap=True, highlight=False)
        if len(keys) > shown:
            console.print(f"  … and {len(keys) - shown} more")
    if report.shredded and report.pending_deletions:
        console.print(
            f"{report.pending_deletions} queued deletion job(s) will remove shredded bytes "
            "(the worker runs them; `vidonate process` runs them now)."
        )
    if (report.orphans or report.shredded) and not repair:
        console.print("`vidonate fsck --repair` removes orphans and shredded bytes.")
    if report.clean:
        console.print("[green]clean[/]: the database and the blob store agree")
    raise typer.Exit(0 if report.clean else 1)
