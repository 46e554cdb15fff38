"""``vidonate rewards …`` and ``vidonate payouts …``: the catalogue, redemptions, holds and
payouts.

Operator commands (stocking, shipping, holds, exporting a month's batch) run against the
database directly, like ``vidonate campaign``; a donor's own commands (``redeem``,
``mine``, ``payouts request``) go through the API with the saved login.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from vidonate.cli_common import ServerOpt, TokenOpt, err, fail, signed_in_api
from vidonate.cli_server import runtime_or_exit
from vidonate.db.engine import transaction
from vidonate.errors import VidonateError

rewards_app = typer.Typer(help="The reward catalogue, redemptions and holds.")
payouts_app = typer.Typer(help="Cash payouts and their monthly batches.")
console = Console()


def _dollars(cents: int) -> str:
    return f"${cents / 100:,.2f}"


@rewards_app.command("catalogue")
def catalogue_list(
    all_items: Annotated[bool, typer.Option("--all", help="withdrawn items too")] = False,
) -> None:
    """List the catalogue with prices and units left (operator)."""
    from vidonate.rewards.catalogue import catalogue

    rt = runtime_or_exit()
    table = Table("id", "kind", "name", "price", "face value", "left", "offered")
    with transaction(rt.sessions) as session:
        for entry in catalogue(session, include_inactive=all_items):
            item = entry.item
            face = _dollars(item.face_value_cents) if item.face_value_cents else ""
            offered = "yes" if item.active else "no"
            table.add_row(
                str(item.id), item.kind, item.name, _dollars(item.price_cents), face,
                str(entry.available), offered,
            )  # fmt: skip
    console.print(table)


@rewards_app.command("add-item")
def add_item(
    kind: Annotated[str, typer.Argument(help="gift_card or product")],
    name: Annotated[str, typer.Argument()],
    price_cents: Annotated[int, typer.Option(help="taken from the donor's balance")],
    face_value_cents: Annotated[int | None, typer.Option(help="gift cards")] = None,
    stock: Annotated[int, typer.Option(help="products: units in stock")] = 0,
    description: Annotated[str, typer.Option()] = "",
) -> None:
    """Add a gift card or a product to the catalogue (operator)."""
    from vidonate.rewards.catalogue import add_item as add

    rt = runtime_or_exit()
    try:
        with transaction(rt.sessions) as session:
            item = add(
                session, kind=kind, name=name, price_cents=price_cents,
                face_value_cents=face_value_cents, stock=stock, description=description,
            )  # fmt: skip
            console.print(f"added item {item.id}: {item.name} at {_dollars(item.price_cents)}")
    except VidonateError as exc:
        fail(exc)


@rewards_app.command("add-codes")
def add_codes(
    item_id: Annotated[int, typer.Argument()],
    codes_file: Annotated[Path, typer.Argument(help="one gift-card code per line", exists=True)],
) -> None:
    """Stock a gift card with the codes in a file, each sealed as it is stored (operator).
    Delete the file afterwards: the database keeps no readable copy."""
    from vidonate.rewards.catalogue import add_gift_card_codes

    codes = [line for line in codes_file.read_text().splitlines() if line.strip()]
    rt = runtime_or_exit()
    try:
        with transaction(rt.sessions) as session:
            added = add_gift_card_codes(session, rt.vault, item_id, codes, added_by=None)
    except VidonateError as exc:
        fail(exc)
    console.print(f"added {added} codes to item {item_id}")


@rewards_app.command("restock")
def restock(item_id: int, units: int) -> None:
    """Add units of a product (operator)."""
    from vidonate.rewards.catalogue import restock as add_units

    rt = runtime_or_exit()
    try:
        with transaction(rt.sessions) as session:
            item = add_units(session, item_id, units)
            console.print(f"{item.name}: {item.stock} in stock")
    except VidonateError as exc:
        fail(exc)


@rewards_app.command("to-ship")
def to_ship() -> None:
    """Product redemptions waiting to be shipped, with their addresses; each address read
    is logged in the access log (operator)."""
    from vidonate.rewards.catalogue import awaiting_shipment, shipping_address

    rt = runtime_or_exit()
    with transaction(rt.sessions) as session:
        waiting = awaiting_shipment(session)
        if not waiting:
            console.print("nothing waits to be shipped")
            return
        for redemption in waiting:
            address = shipping_address(session, rt.vault, redemption.id, actor_id=None)
            console.print(f"[bold]redemption {redemption.id}[/] (item {redemption.item_id})")
            console.print(address, markup=False, highlight=False)


@rewards_app.command("ship")
def ship(redemption_id: int) -> None:
    """Mark a product redemption shipped; its address is destroyed (operator)."""
    from vidonate.rewards.catalogue import mark_shipped

    rt = runtime_or_exit()
    try:
        with transaction(rt.sessions) as session:
            mark_shipped(session, redemption_id, shipped_by=None)
    except VidonateError as exc:
        fail(exc)
    console.print(f"redemption {redemption_id} shipped; its address is destroyed")


@rewards_app.command("holds")
def holds_list() -> None:
    """Open holds on payouts and redemptions, oldest first (operator)."""
    from vidonate.rewards.holds import review_list

    rt = runtime_or_exit()
    table = Table("hold", "account", "reason", "detail", "since")
    with transaction(rt.sessions) as session:
        for hold, handle in review_list(session):
            table.add_row(
                str(hold.id), handle, hold.reason, hold.detail, f"{hold.created_at:%Y-%m-%d}"
            )
    console.print(table)


@rewards_app.command("scan")
def fraud_scan() -> None:
    """Run the fraud scan now (it also runs hourly in a worker): hold accounts that share a
    camera scene or vote on each other's clips far above chance (operator)."""
    from vidonate.rewards.fraud import scan_for_fraud

    rt = runtime_or_exit()
    with transaction(rt.sessions) as session:
        placed = scan_for_fraud(session)
    for hold in placed:
        console.print(f"held account {hold.user_id}: {hold.reason} ({hold.detail})")
    console.print(f"{len(placed)} new holds")


@rewards_app.command("release")
def release(hold_id: int, note: Annotated[str, typer.Option(help="what the review found")]) -> None:
    """Release a hold after review (operator)."""
    from vidonate.rewards.holds import release_hold

    rt = runtime_or_exit()
    try:
        with transaction(rt.sessions) as session:
            release_hold(session, hold_id, released_by=None, note=note)
    except VidonateError as exc:
        fail(exc)
    console.print(f"hold {hold_id} released")


@rewards_app.command("redeem")
def redeem(
    item_id: int,
    address: Annotated[str | None, typer.Option(help="products: where to ship")] = None,
    client_key: Annotated[
        str | None, typer.Option(help="repeat a redemption's key to retry it safely")
    ] = None,
    server: ServerOpt = None,
    token: TokenOpt = None,
) -> None:
    """Spend your balance on a catalogue item (through the API)."""
    api = signed_in_api(server, token)
    key = client_key or str(uuid.uuid4())
    body = {"item_id": item_id, "client_key": key, "shipping_address": address}
    try:
        made = api.call("POST", "/redemptions", json=body)
        console.print(f"redeemed: redemption {made['id']} ({made['status']}); key {key}")
        if made["status"] == "fulfilled":
            code = api.call("GET", f"/redemptions/{made['id']}/code")
            console.print(f"your code: [bold]{code['code']}[/]")
    except VidonateError as exc:
        fail(exc)


@rewards_app.command("mine")
def mine(server: ServerOpt = None, token: TokenOpt = None) -> None:
    """Your redemptions, payouts and holds (through the API)."""
    api = signed_in_api(server, token)
    try:
        for r in api.call("GET", "/redemptions"):
            console.print(
                f"redemption {r['id']}: item {r['item_id']}, {_dollars(r['price_cents'])}, "
                f"{r['status']}"
            )
        for p in api.call("GET", "/payouts"):
            console.print(f"payout {p['id']}: {_dollars(p['amount_cents'])}, {p['status']}")
        for h in api.call("GET", "/me/holds"):
            state = "open" if h["open"] else "released"
            console.print(f"hold {h['id']} ({state}): {h['reason_text']}")
    except VidonateError as exc:
        fail(exc)


@payouts_app.command("request")
def payout_request(
    amount_cents: int,
    provider: Annotated[str, typer.Option(help="paypal_batch or manual")] = "paypal_batch",
    client_key: Annotated[str | None, typer.Option(help="repeat to retry safely")] = None,
    server: ServerOpt = None,
    token: TokenOpt = None,
) -> None:
    """Ask for part of your balance in cash (through the API)."""
    api = signed_in_api(server, token)
    key = client_key or str(uuid.uuid4())
    body = {"amount_cents": amount_cents, "client_key": key, "provider": provider}
    try:
        made = api.call("POST", "/payouts", json=body)
    except VidonateError as exc:
        fail(exc)
    console.print(f"payout {made['id']}: {_dollars(made['amount_cents'])}, paid with the "
                  f"{made['period']} batch; key {key}")  # fmt: skip


@payouts_app.command("export")
def payout_export(
    period: Annotated[str, typer.Argument(help="a closed month, YYYY-MM")],
    provider: Annotated[str, typer.Option(help="paypal_batch or manual")] = "paypal_batch",
    output: Annotated[Path | None, typer.Option("-o", help="write the file here")] = None,
) -> None:
    """The batch of a closed month (operator): made once, the same file every time after."""
    from vidonate.rewards.payouts import export_batch

    rt = runtime_or_exit()
    try:
        with transaction(rt.sessions) as session:
            batch = export_batch(
                session, rt.vault, provider, period,
                currency=rt.settings.payout_currency, exported_by=None,
            )  # fmt: skip
            body, name = batch.body, batch.sender_batch_id
            summary = f"{batch.items} payouts, {_dollars(batch.total_cents)}"
    except VidonateError as exc:
        fail(exc)
    if output is None:
        typer.echo(body, nl=False)
    else:
        output.write_text(body)
    err.print(f"batch {name}: {summary}")


@payouts_app.command("batches")
def payout_batches() -> None:
    """Every exported batch (operator)."""
    from vidonate.rewards.payouts import batches

    rt = runtime_or_exit()
    table = Table("id", "batch id", "period", "payouts", "total", "sha256")
    with transaction(rt.sessions) as session:
        for b in batches(session):
            table.add_row(
                str(b.id), b.sender_batch_id, b.period, str(b.items), _dollars(b.total_cents),
                b.body_sha256[:16],
            )  # fmt: skip
    console.print(table)


@payouts_app.command("mark-paid")
def payout_mark_paid(batch_id: int) -> None:
    """Record that a batch was paid (operator)."""
    from vidonate.rewards.payouts import mark_batch_paid

    rt = runtime_or_exit()
    try:
        with transaction(rt.sessions) as session:
            mark_batch_paid(session, batch_id, paid_by=None)
    except VidonateError as exc:
        fail(exc)
    console.print(f"batch {batch_id} paid")
