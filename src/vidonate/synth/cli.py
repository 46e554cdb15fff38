"""``vidonate synth``: render a run of synthetic clips with a progress bar and a summary."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from vidonate.synth.clip import KINDS, LABEL_OF_KIND
from vidonate.synth.generate import MANIFEST, generate
from vidonate.synth.styles import ALL_STYLES, STYLE_SETS, expand_styles


def synth_command(
    out: Path,
    n: int,
    seed: int,
    workers: int,
    kinds: list[str] | None,
    styles: list[str] | None = None,
) -> None:
    """Render `n` labelled synthetic clips into `out` (kinds in turn, styles in turn per
    round of kinds), with manifest.json."""
    console, err = Console(), Console(stderr=True)
    unknown = sorted(set(kinds or ()) - set(KINDS))
    if unknown:
        err.print(f"unknown kind(s) {', '.join(unknown)}; kinds are {', '.join(KINDS)}")
        raise typer.Exit(2)
    try:
        chosen = expand_styles(styles) if styles else ("classic",)
    except ValueError:
        names = ", ".join((*ALL_STYLES, *STYLE_SETS))
        err.print(f"unknown style(s) in {', '.join(styles or ())}; styles are {names}")
        raise typer.Exit(2) from None
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
            styles=chosen,
            progress=lambda done, total: update("rendering clips", done, total),
        )
    elapsed = time.perf_counter() - started
    table = Table("style", "kind", "label", "clips", "events", "seconds")
    count = Counter((clip.style, clip.kind) for clip in clips)
    for style in chosen:
        for kind in KINDS:
            if count[style, kind]:
                mine = [clip for clip in clips if (clip.style, clip.kind) == (style, kind)]
                table.add_row(
                    style,
                    kind,
                    LABEL_OF_KIND[kind],
                    str(count[style, kind]),
                    str(sum(len(clip.events) for clip in mine)),
                    f"{sum(clip.duration for clip in mine):.1f}",
                )
    console.print(table)
    seconds = sum(clip.duration for clip in clips)
    console.print(
        f"{len(clips)} synthetic clips, {seconds:.0f} s of video in {elapsed:.1f} s "
        f"({seconds / max(elapsed, 1e-9):.1f} video seconds/s, {workers} worker(s)); "
        f"listed in {Path(out) / MANIFEST}"
    )
