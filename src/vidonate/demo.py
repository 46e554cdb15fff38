"""``vidonate demo``: the whole donation loop on the embedded defaults, over real HTTP and tus."""

from __future__ import annotations

import contextlib
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from vidonate.accounts.users import create_user, update_profile
from vidonate.cli_common import upload_progress
from vidonate.client import Api, wait_for
from vidonate.config import Settings
from vidonate.db.engine import transaction
from vidonate.db.models import Campaign, LedgerAccount, User
from vidonate.ingest.samples import sample_clips
from vidonate.rewards import ledger
from vidonate.rewards.leaderboard import leaderboard
from vidonate.server import BackgroundServer, prepare

if TYPE_CHECKING:
    from vidonate.runtime import Runtime

PASSWORD = "demo-password"
DONORS = (
    ("alice", "porch", "package_theft", True),
    ("bob", "driveway", "car_door_tampering", False),
)
REVIEWERS = ("rita", "ravi")
CLIPS_PER_DONOR = 2
PENDING = {"uploading", "received", "processing"}


def run_demo(
    workdir: Path,
    console: Console | None = None,
    *,
    deployment: tuple[Settings, str] | None = None,
) -> bool:
    """Returns True only if every clip went all the way to accepted and paid.

    By default on the embedded defaults, with a server of its own under `workdir`. With
    ``deployment`` (its settings and public URL, e.g. a `vidonate cluster`), against that
    running deployment instead: its servers, workers, database and store. Meant for a
    fresh one: the demo's reviewers vote to accept whatever its review queue holds."""
    console = console or Console()
    started = time.monotonic()
    workdir.mkdir(parents=True, exist_ok=True)
    if deployment is None:
        settings = Settings(
            var_dir=workdir / "var",
            database_url="",
            storage_url="",
            queue_url="inprocess://",
            worker_threads=1,
            job_poll_seconds=0.2,
        )
        rt = prepare(settings).runtime
        suffix = ""
    else:
        from vidonate.runtime import Runtime

        settings, url = deployment
        rt = Runtime.from_settings(settings)
        # A deployment may hold an earlier demo's accounts: these are new ones.
        suffix = "-" + secrets.token_hex(3)
    names = {name: name + suffix for name in (*(d[0] for d in DONORS), *REVIEWERS)}
    with transaction(rt.sessions) as session:
        for name, _placement, _category, opt_in in DONORS:
            donor = create_user(
                session, names[name], PASSWORD, roles=["donor"], handle=f"{names[name]}-cam"
            )
            update_profile(session, donor, leaderboard_opt_in=opt_in)
        for name in REVIEWERS:
            create_user(
                session, names[name], PASSWORD, roles=["reviewer"], handle=f"{names[name]}-reviews"
            )
    clips = sample_clips(workdir / "clips", count=len(DONORS) * CLIPS_PER_DONOR)
    source = "generated clips" if clips and clips[0].parent == workdir / "clips" else "real clips"
    where = f"against {url}" if deployment else f"in {workdir}"
    console.print(f"[bold]vidonate demo[/] {where} with {len(clips)} {source}")

    with contextlib.ExitStack() as stack:
        if deployment is None:
            url = stack.enter_context(BackgroundServer(rt)).url
        from vidonate.seed import DEMO_SLUG

        donor_apis = []
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=console,
        ) as progress:
            for index, (name, placement, category, _opt_in) in enumerate(DONORS):
                api = Api(url)
                api.login(names[name], PASSWORD)
                camera = api.add_camera(f"{name}'s {placement} camera", placement)
                consent = api.campaign(DEMO_SLUG)["consent"]["content_sha256"]
                for clip in clips[index * CLIPS_PER_DONOR : (index + 1) * CLIPS_PER_DONOR]:
                    task = progress.add_task(f"{name}: {clip.name}", total=clip.stat().st_size)
                    api.upload(
                        clip,
                        {
                            "campaign": DEMO_SLUG,
                            "category": category,
                            "camera": str(camera["id"]),
                            "consent": consent,
                            "filename": clip.name,
                        },
                        on_progress=upload_progress(progress, task),
                    )
                donor_apis.append(api)

        with console.status("processing clips"):
            for api in donor_apis:
                wait_for(api, lambda ds: not any(d["status"] in PENDING for d in ds), timeout=600)

        for name in REVIEWERS:
            api = Api(url)
            api.login(names[name], PASSWORD)
            while (response := api.http.get("/review/next")).status_code == 200:
                item = response.json()
                api.call(
                    "POST",
                    f"/review/{item['id']}/votes",
                    json={"decision": "accept", "category": item["category"]},
                )
            api.close()
        donations = [d for api in donor_apis for d in api.call("GET", "/donations")]
        for api in donor_apis:
            api.close()

    ok = _report(console, rt, donations, _donor_ids(rt, names))
    rt.close()
    console.print(f"demo {'completed' if ok else 'FAILED'} in {time.monotonic() - started:.1f} s")
    return ok


def _donor_ids(rt: Runtime, names: dict[str, str]) -> set[int | None]:
    """The user ids of this run's donors."""
    with transaction(rt.sessions) as session:
        usernames = [names[d[0]] for d in DONORS]
        return set(session.scalars(select(User.id).where(User.username.in_(usernames))))


def _report(
    console: Console, rt: Runtime, donations: list[dict[str, Any]], donor_ids: set[int | None]
) -> bool:
    by_status = Table(title="Clips by status")
    for column in ("clip", "file", "category", "status", "reason", "paid"):
        by_status.add_column(column)
    for d in sorted(donations, key=lambda d: d["id"]):
        reason = d["failure_reason"] or d["rejection_reason"] or d["unpaid_reason"] or ""
        by_status.add_row(
            str(d["id"]),
            d["source_filename"],
            d["category"],
            d["status"],
            reason,
            f"${d['paid_cents'] / 100:.2f}",
        )
    console.print(by_status)

    balances = Table(title="Ledger balances")
    balances.add_column("account")
    balances.add_column("balance", justify="right")
    with transaction(rt.sessions) as session:
        for account, cents in ledger.all_balances(session):
            balances.add_row(_account_name(session, account), f"${cents / 100:,.2f}")
        board = leaderboard(session)
        expected = sum(d["paid_cents"] for d in donations)
        # The demo's donors' balances only: a deployment may hold other donors.
        donor_total = sum(
            c
            for a, c in ledger.all_balances(session)
            if a.kind == ledger.DONOR and a.user_id in donor_ids
        )
    console.print(balances)

    table = Table(title="Leaderboard (opted-in donors)")
    for column in ("rank", "handle", "accepted clips"):
        table.add_column(column)
    for s in board:
        table.add_row(str(s.rank), s.handle, str(s.accepted))
    console.print(table)
    all_accepted = bool(donations) and all(d["status"] == "accepted" for d in donations)
    all_paid = all(d["paid_cents"] > 0 for d in donations)
    return all_accepted and all_paid and donor_total == expected and len(board) >= 1


def _account_name(session: Session, account: LedgerAccount) -> str:
    if account.kind == ledger.DONOR and account.user_id:
        user = session.get(User, account.user_id)
        return f"donor {user.username}" if user else account.key
    if account.kind == ledger.CAMPAIGN and account.campaign_id:
        campaign = session.get(Campaign, account.campaign_id)
        return f"budget of {campaign.slug}" if campaign else account.key
    return "funding (paid in)"
