"""The ``vidonate`` command line: run the server, administer it, and donate in bulk."""

from __future__ import annotations

import getpass
import json
import os
import secrets
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    DownloadColumn,
    Progress,
    TransferSpeedColumn,
)
from rich.table import Column, Table

from vidonate.cli_cluster import cluster_app
from vidonate.cli_common import ServerOpt, TokenOpt, err, fail, signed_in_api, stage_progress
from vidonate.cli_footage import footage_app
from vidonate.cli_gold import gold_app
from vidonate.cli_model import model_app
from vidonate.cli_review import review_app
from vidonate.cli_rewards import payouts_app, rewards_app
from vidonate.cli_rewards_badges import badges_app
from vidonate.cli_server import runtime_or_exit as _runtime
from vidonate.cli_server import server_app, settings_or_exit
from vidonate.cli_tokens import token_app
from vidonate.db.engine import transaction
from vidonate.errors import InvalidInput, VidonateError

if TYPE_CHECKING:
    # The runtime imports the whole server; commands load it only when they run.
    pass

app = typer.Typer(
    help="vidonate: open, privacy-first donation of security-camera clips.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
user_app = typer.Typer(help="Manage accounts (runs against the database directly).")
campaign_app = typer.Typer(help="Manage campaigns (runs against the database directly).")
camera_app = typer.Typer(help="Your cameras (through the API).")
app.add_typer(user_app, name="user")
app.add_typer(campaign_app, name="campaign")
app.add_typer(camera_app, name="camera")
app.add_typer(token_app, name="token")
app.add_typer(cluster_app, name="cluster")
app.add_typer(rewards_app, name="rewards")
app.add_typer(payouts_app, name="payouts")
app.add_typer(badges_app, name="badges")
app.add_typer(gold_app, name="gold")
app.add_typer(footage_app, name="footage")
app.add_typer(model_app, name="model")
app.add_typer(review_app, name="review")
app.add_typer(server_app)  # serve, worker, migrate, process: top-level commands
console = Console()


@user_app.command("create")
def user_create(
    username: str,
    role: Annotated[list[str], typer.Option(help="donor, reviewer, admin, auditor")] = ["donor"],  # noqa: B006
    handle: str | None = None,
    password: Annotated[str | None, typer.Option(envvar="VIDONATE_NEW_PASSWORD")] = None,
) -> None:
    """Create an account; without --password a random one is printed once."""
    from vidonate.accounts.users import create_user

    password = password or secrets.token_urlsafe(12)
    rt = _runtime()
    try:
        with transaction(rt.sessions) as session:
            user = create_user(session, username, password, role, handle)
            console.print(
                f"created {user.username} ({', '.join(sorted(user.roles))}), "
                f"handle {user.handle}, password [bold]{password}[/]"
            )
    except VidonateError as exc:
        fail(exc)


@campaign_app.command("create")
def campaign_create(
    slug: str,
    name: Annotated[str, typer.Option()],
    budget_cents: Annotated[int, typer.Option()],
    reward_cents: int = 200,
    paid_cap_per_camera: int = 10,
    category: Annotated[list[str] | None, typer.Option(help="name or name=target")] = None,
    no_staged: bool = False,
    consent_file: Path | None = None,
    incident_payment: Annotated[
        str, typer.Option(help="each_angle or once_per_incident")
    ] = "each_angle",
    sensitive_data: Annotated[
        bool, typer.Option(help="allow children or home interiors; forbids any reward")
    ] = False,
    retention_days: Annotated[
        int, typer.Option(help="days a processed clip is kept; stated in the consent text")
    ] = 730,
) -> None:
    """Create and fund a campaign."""
    from vidonate.campaigns.service import DEFAULT_TARGET, create_campaign

    categories = None
    if category:
        categories = {
            c.split("=")[0]: int(c.split("=")[1]) if "=" in c else DEFAULT_TARGET for c in category
        }
    rt = _runtime()
    try:
        with transaction(rt.sessions) as session:
            campaign = create_campaign(
                session,
                slug=slug,
                name=name,
                budget_cents=budget_cents,
                reward_cents=reward_cents,
                paid_cap_per_camera=paid_cap_per_camera,
                categories=categories,
                allow_staged=not no_staged,
                consent_text=consent_file.read_text() if consent_file else None,
                incident_payment=incident_payment,
                sensitive_data=sensitive_data,
                retention_days=retention_days,
            )
            console.print(f"created campaign {campaign.slug} (#{campaign.id})")
    except VidonateError as exc:
        fail(exc)


@campaign_app.command("list")
def campaign_list() -> None:
    """List campaigns with their rewards and remaining budget."""
    from vidonate.campaigns.service import list_campaigns
    from vidonate.rewards import ledger

    rt = _runtime()
    # Folded, not cut with "…": slugs must stay copyable from a narrow terminal.
    table = Table(
        *(
            Column(h, overflow="fold")
            for h in ("id", "slug", "name", "reward", "cap/camera", "categories", "budget left")
        )
    )
    with transaction(rt.sessions) as session:
        for c in list_campaigns(session):
            left = ledger.balance(session, ledger.campaign_account(session, c.id))
            table.add_row(
                str(c.id),
                c.slug,
                c.name,
                f"${c.reward_cents / 100:.2f}",
                str(c.paid_cap_per_camera),
                ", ".join(c.category_names()),
                f"${left / 100:,.2f}",
            )
    console.print(table)


audit_app = typer.Typer(help="The hash-chained access log.")
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the access log's hash chain; exits 1 at the first changed, deleted or
    reordered entry. Compare the printed head with a published one to catch truncation."""
    from vidonate.db.audit import verify

    rt = _runtime()
    with transaction(rt.sessions) as session:
        result = verify(session)
    if result.ok:
        console.print(f"audit log intact: {result.entries} entries, head {result.head}")
        return
    err.print(f"[red]audit log broken[/] at entry {result.first_bad_seq}: {result.problem}")
    raise typer.Exit(1)


@app.command()
def transparency(
    campaign: Annotated[str | None, typer.Option(help="a campaign's slug; default: all")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the API's JSON instead of text")] = False,
) -> None:
    """Print the public transparency report: clips, money, withdrawals, reads, disclosures."""
    from vidonate.privacy.transparency import build_report, render_text

    rt = _runtime()
    try:
        with transaction(rt.sessions) as session:
            report = build_report(session, campaign)
    except VidonateError as exc:
        fail(exc)
    # Plain echo, not rich: recipients' names must not be read as markup, JSON not wrapped.
    typer.echo(report.model_dump_json(indent=2) if as_json else render_text(report), nl=False)


disclosure_app = typer.Typer(help="Disclosures to third parties (against the database).")
app.add_typer(disclosure_app, name="disclosure")


@disclosure_app.command("record")
def disclosure_record(
    recipient: Annotated[str, typer.Option(help="who received the clips or data")],
    legal_basis: Annotated[str, typer.Option(help="e.g. the court order or subpoena")],
    donations: Annotated[int, typer.Option(help="how many clips; 0 for account data only")],
    description: Annotated[str, typer.Option(help="what was handed over; no donor names")] = "",
    at: Annotated[str | None, typer.Option(help="ISO 8601 with zone; default: now")] = None,
) -> None:
    """Record a disclosure; everything but who recorded it is published in the report."""
    from vidonate.privacy.disclosures import parse_disclosure_time, record_disclosure

    rt = _runtime()
    try:
        disclosed_at = parse_disclosure_time(at) if at is not None else None
        with transaction(rt.sessions) as session:
            d = record_disclosure(
                session,
                recipient=recipient,
                legal_basis=legal_basis,
                donations=donations,
                description=description,
                disclosed_at=disclosed_at,
            )
    except VidonateError as exc:
        fail(exc)
    console.print(
        f"recorded disclosure #{d.id}: {d.donations} clips to {d.recipient} "
        f"({d.legal_basis}) on {d.disclosed_at:%Y-%m-%d}",
        markup=False,
    )


@app.command()
def login(
    username: Annotated[str, typer.Option(prompt=True)],
    server: Annotated[str, typer.Option(envvar="VIDONATE_SERVER")] = "http://127.0.0.1:8000",
    password: Annotated[str | None, typer.Option(envvar="VIDONATE_PASSWORD")] = None,
) -> None:
    """Sign in and save an API token for the other client commands."""
    from vidonate.client import Api, save_credentials

    password = password or getpass.getpass("Password: ")
    api = Api(server)
    try:
        token = api.login(username, password)
    except VidonateError as exc:
        fail(exc)
    path = save_credentials(server, token)
    console.print(f"signed in as {username}; token saved to {path}")


@camera_app.command("add")
def camera_add(
    label: str,
    placement: Annotated[str, typer.Option(help="porch, driveway, street, indoor")],
    server: ServerOpt = None,
    token: TokenOpt = None,
) -> None:
    """Register a camera you own."""
    api = signed_in_api(server, token)
    try:
        camera = api.add_camera(label, placement)
    except VidonateError as exc:
        fail(exc)
    console.print(f"camera #{camera['id']} {camera['label']} ({camera['placement']})")


@app.command()
def donate(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True)],
    campaign: Annotated[str, typer.Option()],
    category: Annotated[str, typer.Option()],
    camera: Annotated[str, typer.Option(help="camera id or label")],
    staged: bool = False,
    everyone_agreed: Annotated[
        bool, typer.Option(help="for --staged: everyone filmed agreed to be filmed")
    ] = False,
    incident: str | None = None,
    recorded_at: Annotated[str | None, typer.Option(help="ISO 8601; default: now")] = None,
    accept_consent: Annotated[bool, typer.Option(help="accept the consent text in force")] = False,
    wait: Annotated[
        bool, typer.Option(help="wait for each clip's outcome (in review, or failed and why)")
    ] = False,
    wait_timeout: Annotated[float, typer.Option(help="seconds --wait waits at most")] = 900,
    server: ServerOpt = None,
    token: TokenOpt = None,
) -> None:
    """Donate clips over tus, with a progress bar; an interrupted run resumes where it stopped.

    Every file not donated is named with the reason, and the exit code is 1. The clips
    are then processed on the server: --wait shows how each fares, `vidonate status` later.
    """
    from vidonate.client import credentials_path

    api = signed_in_api(server, token)
    try:
        info = api.campaign(campaign)
    except VidonateError as exc:
        fail(exc)
    consent = info["consent"]
    if not accept_consent:
        console.print(f"[bold]Consent text of {info['name']}[/] (version {consent['version']}):")
        console.print(consent["body"])
        if not sys.stdin.isatty() or not typer.confirm("Do you accept it?"):
            err.print("consent not given: nothing was uploaded (pass --accept-consent to accept)")
            raise typer.Exit(2)
    metadata = {
        "campaign": campaign,
        "category": category,
        "camera": camera,
        "consent": consent["content_sha256"],
        "staged": str(staged).lower(),
        "attestation": str(everyone_agreed).lower(),
    }
    if incident:
        metadata["incident"] = incident
    if recorded_at:
        metadata["recorded_at"] = recorded_at
    resume_store = credentials_path().parent / "uploads.json"
    from vidonate.cli_donor import report_outcomes, send_files

    sent, refused = send_files(api, files, metadata, resume_store, console)
    try:
        failed = report_outcomes(api, sent, wait_timeout, console, err) if wait else 0
    except VidonateError as exc:
        fail(exc)
    summary = f"sent {len(files) - len(refused)} of {len(files)} clips"
    if refused:
        summary += f"; not donated: {', '.join(refused)}"
    if not wait and sent:
        summary += "; they are being processed: `vidonate status` shows how they fare"
    console.print(summary, markup=False, soft_wrap=True)
    if refused or failed:
        raise typer.Exit(1)


@app.command()
def status(server: ServerOpt = None, token: TokenOpt = None) -> None:
    """Your clips and where each stands, in words (newest first)."""
    from vidonate.cli_donor import status_table

    api = signed_in_api(server, token)
    try:
        donations = api.donations()
    except VidonateError as exc:
        fail(exc)
    if not donations:
        console.print("no clips yet: donate one with `vidonate donate`", markup=False)
        return
    console.print(status_table(donations))


@app.command()
def withdraw(
    donation_id: Annotated[int | None, typer.Argument(help="the clip to withdraw")] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="withdraw every clip and destroy your data key")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask before --all")] = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
) -> None:
    """Withdraw one clip, or everything (--all). Its key is destroyed at once: nobody can
    read it afterwards. Money already earned stays yours."""
    if (donation_id is None) == (not everything):
        err.print("name one clip, or pass --all (not both)")
        raise typer.Exit(2)
    if everything and not yes:
        typer.confirm(
            "Withdraw every clip and destroy your data key? This cannot be undone", abort=True
        )
    api = signed_in_api(server, token)
    try:
        done = api.withdraw(None if everything else donation_id)
    except VidonateError as exc:
        fail(exc)
    what = f"{done['clips']} clip(s)" if everything else f"clip {donation_id}"
    console.print(
        f"withdrew {what}; unreadable since {done['unreadable_at']}; "
        "the encrypted bytes are being deleted"
    )


@app.command()
def export(
    out: Annotated[Path, typer.Option(help="where to write the zip")] = Path("vidonate-export.zip"),
    server: ServerOpt = None,
    token: TokenOpt = None,
) -> None:
    """Download one zip of everything vidonate keeps about you, clips decrypted."""
    api = signed_in_api(server, token)
    # Transient: a failure leaves its one line, not a half-drawn bar.
    with Progress(*Progress.get_default_columns()[:1], DownloadColumn(), TransferSpeedColumn(),
                  console=err, transient=True) as progress:  # fmt: skip
        task = progress.add_task("export", total=None)
        try:
            size = api.export(out, lambda n: progress.update(task, completed=n))
        except VidonateError as exc:
            fail(exc)
    console.print(f"wrote {out} ({size} bytes)")


keys_app = typer.Typer(help="The master key that wraps donors' data keys.")
app.add_typer(keys_app, name="keys")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-wrap every donor key under a new master key; no stored blob is rewritten."""
    from vidonate.crypto.vault import rotate_master_key

    rt = _runtime()
    if rt.settings.master_key.get_secret_value():
        err.print(
            "the master key comes from VIDONATE_MASTER_KEY: rotate where its file is kept "
            "(without that variable), then give every node the new key and restart them"
        )
        raise typer.Exit(2)
    assert rt.settings.master_key_file is not None
    done = rotate_master_key(rt.sessions, rt.settings.master_key_file)
    console.print(
        f"master key {done.old_key_id} -> {done.new_key_id}: re-wrapped {done.rewrapped} "
        f"donor key(s). The old key is kept at {done.retired_file}: delete it, and every "
        "backup of it, once no database backup wrapped under it must be restored."
    )


release_app = typer.Typer(help="Dataset releases (against the database).")
app.add_typer(release_app, name="release")


@release_app.command("create")
def release_create(
    seed: Annotated[int, typer.Option(help="the same seed gives the same splits")] = 0,
    train: float = 0.7,
    val: float = 0.15,
    test: float = 0.15,
) -> None:
    """Freeze the accepted, held clips that allow training into the next release."""
    from vidonate.datasets.release import create_release, release_clips

    rt = _runtime()
    try:
        with transaction(rt.sessions) as session:
            release = create_release(
                session, seed=seed, ratios={"train": train, "val": val, "test": test}
            )
            splits = Counter(c.split for c in release_clips(session, release))
            console.print(
                f"release v{release.version}: {release.clips} clips "
                f"({', '.join(f'{k} {splits[k]}' for k in ('train', 'val', 'test'))}), "
                f"manifest sha256 {release.manifest_sha256[:16]}…, "
                f"{len(release.withdrawn_since_previous)} withdrawn since the previous release"
            )
    except VidonateError as exc:
        fail(exc)


@release_app.command("list")
def release_list() -> None:
    """Every release, oldest first."""
    from vidonate.datasets.release import list_releases

    rt = _runtime()
    table = Table("version", "clips", "seed", "withdrawn since prev.", "created", "code")
    with transaction(rt.sessions) as session:
        for r in list_releases(session):
            table.add_row(
                f"v{r.version}", str(r.clips), str(r.seed), str(len(r.withdrawn_since_previous)),
                r.created_at.strftime("%Y-%m-%d %H:%M"), r.code_version,
            )  # fmt: skip
    console.print(table)


@release_app.command("show")
def release_show(
    ref: Annotated[str, typer.Argument(help="a version (v3 or 3) or latest")] = "latest",
    out: Annotated[Path | None, typer.Option(help="write the release's files here")] = None,
) -> None:
    """Print a release's datasheet, or write manifest, datasheet, withdrawn list and diff."""
    from vidonate.datasets.release import get_release, manifest

    rt = _runtime()
    try:
        with transaction(rt.sessions) as session:
            release = get_release(session, ref)
            rows = manifest(session, release)
    except VidonateError as exc:
        fail(exc)
    if out is None:
        typer.echo(release.datasheet)
        return
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "manifest.json": {"version": release.version, "sha256": release.manifest_sha256,
                          "clips": rows},
        "withdrawn.json": release.withdrawn_since_previous,
        "diff.json": release.diff,
    }  # fmt: skip
    for name, value in files.items():
        (out / name).write_text(json.dumps(value, indent=2) + "\n")
    (out / "datasheet.md").write_text(release.datasheet)
    console.print(f"wrote v{release.version} to {out}: {', '.join([*files, 'datasheet.md'])}")


@app.command()
def synth(
    out: Annotated[Path, typer.Option(help="directory for the clips and their sidecars")],
    n: Annotated[int, typer.Option(help="how many clips")] = 40,
    seed: int = 0,
    workers: int = 1,
    kind: Annotated[list[str] | None, typer.Option(help="only these kinds")] = None,
    style: Annotated[
        list[str] | None,
        typer.Option(help="drawing style(s), repeatable; all-training, all (default classic)"),
    ] = None,
    import_: Annotated[
        bool, typer.Option("--import", help="also store them as synthetic clips for releases")
    ] = False,
) -> None:
    """Render labelled synthetic scenes (theft, tampering, delivery, passer-by)."""
    from vidonate.synth import load_clip
    from vidonate.synth.cli import synth_command

    synth_command(out, n, seed, workers, kind, style)
    if import_:
        from vidonate.datasets.synthetic import import_synthetic

        manifest = json.loads((out / "manifest.json").read_text())
        clips = [load_clip(out / entry["sidecar"]) for entry in manifest["clips"]]
        with stage_progress("synth --import") as update:
            rt = _runtime()
            ids = import_synthetic(
                rt.sessions, rt.vault, rt.store, clips,
                progress=lambda d, t: update("importing", d, t),
            )  # fmt: skip
        console.print(f"imported {len(ids)} synthetic clips (accepted, marked synthetic)")


@app.command()
def train(
    release: Annotated[str, typer.Option(help="a release version (v3 or 3) or latest")],
    epochs: Annotated[int | None, typer.Option(help="default: sized to the data")] = None,
    seed: int = 0,
    nproc: Annotated[int, typer.Option(help="processes; >1 trains with torchrun (DDP)")] = 1,
    evidence: Annotated[
        str, typer.Option(help="evidence maps the network reads: bg,removed,dwell,hog")
    ] = "",
) -> None:
    """Train the theft detector on a release and register it with its lineage."""
    from vidonate.detect.evidence import check_channels
    from vidonate.detect.pipeline import train_release

    try:
        channels = check_channels([n.strip() for n in evidence.split(",") if n.strip()])
    except ValueError as exc:
        fail(InvalidInput("unknown_evidence", str(exc)))
    try:
        with stage_progress("train") as update:
            model = train_release(
                _runtime().pipeline(),
                release,
                epochs=epochs,
                seed=seed,
                nproc=nproc,
                evidence=channels,
                progress=update,
            )
    except VidonateError as exc:
        fail(exc)
    console.print(
        f"model {model.id} trained on release {model.metrics['training_data']['release']} "
        f"(code {model.code_version}); validation: "
        f"{json.dumps(model.metrics.get('training', {}).get('validation', {}))}"
    )


@app.command()
def evaluate(
    model: Annotated[str, typer.Option(help="a model id, latest (newest) or served")],
    release: Annotated[str, typer.Option(help="a release version, or latest")],
    split: str = "test",
    out: Annotated[Path, typer.Option(help="where the report goes")] = Path("evaluation"),
    media: Annotated[
        Path | None,
        typer.Option(help="real normal footage (default: the test media), besides the gathered"),
    ] = None,
    resamples: int = 1000,
) -> None:
    """Evaluate a model on a release split and on real normal footage (the test media and
    the camera footage `vidonate footage gather` fetched); write the report."""
    from vidonate.detect.pipeline import evaluate_release, gathered_camera_footage
    from vidonate.ingest.samples import test_media_dir

    try:
        with stage_progress("evaluate") as update:
            done = evaluate_release(
                _runtime().pipeline(), model, release, out, split=split,
                media_dir=media or test_media_dir(), footage_files=gathered_camera_footage(),
                resamples=resamples, progress=update,
            )  # fmt: skip
    except VidonateError as exc:
        fail(exc)
    console.print(json.dumps(done.result.headline(), indent=2))
    console.print(f"report: {done.files.markdown}")


@app.command()
def detect(
    videos: Annotated[list[Path], typer.Argument(help="video files and/or folders of them")],
    model: Annotated[
        str | None, typer.Option(help="a model id, or latest; default the served model")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="one video: write an annotated copy here")
    ] = None,
    annotated_dir: Annotated[
        Path | None, typer.Option(help="write an annotated copy of each clip here")
    ] = None,
    json_: Annotated[
        bool, typer.Option("--json", help="one JSON array instead of JSON Lines")
    ] = False,
) -> None:
    """Find theft and tampering events in videos with one loaded model: one JSON object
    per clip on stdout (a failed clip gets an error object; exit code 1 if any failed)."""
    from vidonate.cli_model import run_detect

    if len(videos) == 1 and not videos[0].exists():  # the single-file form, as before
        err.print(f"no such file: {videos[0]}")
        raise typer.Exit(2)
    if out is not None and (len(videos) != 1 or videos[0].is_dir()):
        err.print("--out takes one video; use --annotated-dir for several")
        raise typer.Exit(2)
    run_detect(videos, model, as_array=json_, annotated_dir=annotated_dir, annotated_file=out)


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(help="an empty directory to run in")],
    cluster: Annotated[
        Path | None,
        typer.Option(
            help="run against the running cluster under this directory (`vidonate cluster "
            "up`, e.g. var/cluster) instead of the embedded defaults; a fresh one: its "
            "review queue is voted through"
        ),
    ] = None,
) -> None:
    """Run the whole loop (donate, process, review, pay, rank) on the embedded defaults,
    or against a running cluster."""
    from vidonate.demo import run_demo

    if workdir.exists() and any(workdir.iterdir()):
        err.print(f"{workdir} is not empty; the demo needs an empty directory")
        raise typer.Exit(2)
    deployment = None
    if cluster is not None:
        from vidonate.ops.cluster import Cluster

        running = Cluster(cluster)
        if not running.procs or not all(running.status().values()):
            err.print(f"no cluster runs under {cluster}: start it with `vidonate cluster up`")
            raise typer.Exit(2)
        # Its database, store (with the S3 keys boto3 reads from the environment) and keys.
        os.environ.update(running.env(workdir / "var"))
        deployment = (settings_or_exit(), running.url)
    if not run_demo(workdir, console, deployment=deployment):
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
