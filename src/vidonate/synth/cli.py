"""``vidonate synth``: render a run of synthetic clips with a progress bar and a summary."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from vidonate.synth.clip import FPS, KINDS, LABEL_OF_KIND
from vidonate.synth.generate import MANIFEST, generate


def synth_command(out: Path, n: int, seed: int, workers: int, kinds: list[str] | None) -> None:
    """Render `n` labelled synthetic clips into `out` (kinds in turn), with manifest.json."""
    console, err = Console(), Console(stderr=True)
    unknown = sorted(set(kinds or ()) - set(KINDS))
    if unknown:
        err.print(f"unknown kind(s) {', '.join(unknown)}; kinds are {', '.join(KINDS)}")
        raise typer.Exit(2)
    if n < 1 or workers < 1:
        err.print("--n and --workers must be at least 1")
        raise typer.Exit(2)
    started = time.perf_counter()
    from vidonate.cli_common import stage_progress

    with stage_progress("synth") as update:
        clips = generate(
            out,
            n,
            seed=seed,
            kinds=tuple(kinds) if kinds else KINDS,
            workers=workers,
            progress=lambda done, total: update("rendering clips", done, total),
        )
    elapsed = time.perf_counter() - started
    table = Table("kind", "label", "clips", "events", "seconds")
    count = Counter(clip.kind for clip in clips)
    for kind in KINDS:
        if count[kind]:
            mine = [clip for clip in clips if clip.kind == kind]
            table.add_row(
                kind,
                LABEL_OF_KIND[kind],
                str(count[kind]),
                str(sum(len(clip.events) for clip in mine)),
                f"{sum(clip.duration for clip in mine):.1f}",
            )
    console.print(table)
    frames = sum(round(clip.duration * FPS) for clip in clips)
    console.print(
        f"{len(clips)} synthetic clips, {frames} frames in {elapsed:.1f} s "
        f"({frames / max(elapsed, 1e-9):.0f} frames/s, {workers} worker(s)); "
        f"listed in {Path(out) / MANIFEST}"
    )
