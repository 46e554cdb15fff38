"""What every ``vidonate`` command shares: the server and token options, the saved login,
how a refusal is printed (one line, then exit code 2), and how long commands show progress
(bars on a terminal, plain lines in a log)."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from vidonate.client import Api, load_credentials
from vidonate.errors import VidonateError

DEFAULT_SERVER = "http://127.0.0.1:8000"
err = Console(stderr=True)

ServerOpt = Annotated[
    str | None,
    typer.Option("--server", envvar="VIDONATE_SERVER", help="API base URL [default: saved login]"),
]
TokenOpt = Annotated[
    str | None,
    typer.Option("--token", envvar="VIDONATE_TOKEN", help="API token [default: saved login]"),
]


def upload_progress(progress: Progress, task: TaskID) -> Callable[[int, int], None]:
    """An ``Api.upload`` on_progress that moves `task`'s bar to the bytes sent so far."""

    def advance(done: int, _total: int) -> None:
        progress.update(task, completed=done)

    return advance


StageProgress = Callable[[str, int, int], None]  # (stage, done, total)
PROGRESS_LINE_SECONDS = 10.0


@contextlib.contextmanager
def stage_progress(command: str) -> Iterator[StageProgress]:
    """A (stage, done, total) callback for a long command. On a terminal it drives rich
    bars on stderr; otherwise (a log, a pipe, CI) it prints plain lines to stderr, such as
    ``train: training epochs 3/40 (2.3 min)``: at each new stage, at a stage's end, and
    at most every :data:`PROGRESS_LINE_SECONDS` between, so a 45-minute run is not silent."""
    if err.is_terminal:
        progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=err,
        )  # fmt: skip
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        with progress:
            yield update
    else:
        yield ProgressLines(command)


class ProgressLines:
    """Plain progress lines on stderr, throttled (see :func:`stage_progress`)."""

    def __init__(self, command: str, every_s: float = PROGRESS_LINE_SECONDS) -> None:
        self.command = command
        self.every_s = every_s
        self.started = time.monotonic()
        self._last_stage: str | None = None
        self._last_at = -float("inf")

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage == self._last_stage and done < total and now - self._last_at < self.every_s:
            return
        self._last_stage, self._last_at = stage, now
        print(f"{self.command}: {stage} {done}/{total} ({_elapsed(now - self.started)})",
              file=sys.stderr, flush=True)  # fmt: skip


def _elapsed(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def fail(exc: VidonateError) -> NoReturn:
    # One line whatever the terminal's width; the message is text, never markup.
    err.print(f"[red]error[/] {escape(exc.message)} [dim](reason: {exc.code})[/]", soft_wrap=True)
    raise typer.Exit(2)


def signed_in_api(server: str | None, token: str | None) -> Api:
    """An API client for the options given, else the saved login; none at all ends the command."""
    saved = load_credentials()
    token = token or saved.get("token")
    if not token:
        err.print("not signed in: run [bold]vidonate login[/] or pass --token")
        raise typer.Exit(2)
    return Api(server or saved.get("server") or DEFAULT_SERVER, token)
