"""What ``vidonate donate`` and ``vidonate status`` do and print for a donor: send the
files (naming each one not donated, with the reason in words), follow each clip's
processing, and list the donor's clips with their state in words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Column, Table

from vidonate.cli_common import upload_progress
from vidonate.client import Api, wait_for_outcomes
from vidonate.errors import VidonateError
from vidonate.reasons import PENDING, sentence, status_words


def send_files(
    api: Api, files: list[Path], metadata: dict[str, str], resume_store: Path, console: Console
) -> tuple[dict[int, str], list[str]]:
    """Upload each file with a progress bar; returns {donation id: file name} of those
    sent and the names of those not donated (each reported as it happens)."""
    sent: dict[int, str] = {}
    refused: list[str] = []
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn(), TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=console) as progress:
        for path in files:
            task = progress.add_task(path.name, total=path.stat().st_size)
            try:
                done = api.upload(
                    path,
                    {**metadata, "filename": path.name},
                    resume_store=resume_store,
                    on_progress=upload_progress(progress, task),
                )
            except VidonateError as exc:
                refused.append(path.name)
                progress.console.print(
                    f"[red]{escape(path.name)}[/]: not donated: {escape(sentence(exc.code))} "
                    f"[dim]({escape(exc.message)}; reason: {exc.code})[/]",
                    soft_wrap=True,
                )
                continue
            if done.donation_id is not None:
                sent[done.donation_id] = path.name
    return sent, refused


def report_outcomes(
    api: Api, sent: dict[int, str], timeout: float, console: Console, err: Console
) -> int:
    """Wait for each sent clip to leave processing, with a spinner per clip, then print
    its outcome in words; returns how many failed."""
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=err,
                  transient=True) as progress:  # fmt: skip
        tasks = {i: progress.add_task(f"{name}: waiting", total=None) for i, name in sent.items()}

        def show(donation: dict[str, Any]) -> None:
            description = f"{sent[donation['id']]}: {state_words(donation)}"
            progress.update(tasks[donation["id"]], description=escape(description))

        outcomes = wait_for_outcomes(api, list(sent), timeout, on_update=show)
    failed = 0
    for donation_id, name in sent.items():
        donation = outcomes[donation_id]
        failed += donation["status"] == "failed"
        still = " (still going on; see `vidonate status`)" if donation["status"] in PENDING else ""
        console.print(f"{name}: {state_words(donation)}{still}", markup=False, soft_wrap=True)
    return failed


def state_words(donation: dict[str, Any]) -> str:
    return status_words(
        donation["status"],
        donation.get("failure_reason"),
        donation.get("rejection_reason"),
        donation.get("unpaid_reason"),
    )


def status_table(donations: list[dict[str, Any]]) -> Table:
    """The donor's clips, newest first, each with its state in words."""
    headers = ("id", "file", "category", "state", "donated")
    table = Table(*(Column(h, overflow="fold") for h in headers))
    for d in sorted(donations, key=lambda d: d["id"], reverse=True):
        table.add_row(
            str(d["id"]), escape(d["source_filename"]), d["category"], escape(state_words(d)),
            d["created_at"][:16].replace("T", " "),
        )  # fmt: skip
    return table
