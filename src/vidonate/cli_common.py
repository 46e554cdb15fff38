"""What every ``vidonate`` client command shares: the server and token options, the saved
login, and how a refusal is printed (one line, then exit code 2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, TaskID

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
