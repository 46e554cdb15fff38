"""``vidonate token list|revoke``: the signed-in user's API tokens, through the API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from vidonate.cli_common import ServerOpt, TokenOpt, fail, signed_in_api
from vidonate.errors import VidonateError

token_app = typer.Typer(help="Your API tokens: list them, revoke one (through the API).")
console = Console()


def _call(server: str | None, token: str | None, method: str, path: str) -> Any:
    """One API call with the saved login (or the options); a refusal ends the command."""
    api = signed_in_api(server, token)
    try:
        return api.call(method, path)
    except VidonateError as exc:
        fail(exc)
    finally:
        api.close()


@token_app.command("list")
def token_list(server: ServerOpt = None, token: TokenOpt = None) -> None:
    """List your API tokens: id, name, when made, when they expire (never their secrets)."""
    tokens = _call(server, token, "GET", "/me/tokens")
    table = Table("id", "name", "created", "expires", "")
    now = datetime.now(UTC)
    for t in tokens:
        expires = datetime.fromisoformat(t["expires_at"])
        note = "this login" if t["current"] else ("expired" if expires <= now else "")
        table.add_row(
            str(t["id"]),
            t["name"],
            f"{datetime.fromisoformat(t['created_at']):%Y-%m-%d %H:%M}",
            f"{expires:%Y-%m-%d %H:%M}",
            note,
        )
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[
        int, typer.Argument(metavar="ID", help="the id `vidonate token list` shows")
    ],
    server: ServerOpt = None,
    token: TokenOpt = None,
) -> None:
    """Revoke one of your API tokens: it stops working at once."""
    _call(server, token, "DELETE", f"/me/tokens/{token_id}")
    console.print(f"token {token_id} is revoked")
