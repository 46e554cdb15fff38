"""A contact sheet of the synthesizer's styles, and how fast each renders.

Renders one clip of each kind in each style (same seed per kind, so the rows show the same
scene drawn differently), takes a frame from the middle of each event (the middle of the
clip for kinds without one) and writes them as a grid: a row per style, a column per kind,
labelled. With ``--timing N`` it also renders N 10 s clips per style with ``generate``
(workers=1) and prints seconds per clip.

Run: ``PYTHONPATH=src .venv/bin/python bench/style_sheet.py --out sheet.png [--timing 8]``
(``--no-media`` for procedural backgrounds and walkers).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np

from vidonate.synth import ALL_STYLES, KINDS, backgrounds, generate, render_clip
from vidonate.synth.render import resolve_media_dir
from vidonate.synth.styles import sprites

TILE = (320, 180)


def _frame_at(path: Path, seconds: float, fps: float) -> np.ndarray:
    wanted = int(seconds * fps)
    with av.open(str(path)) as container:
        last = None
        for index, frame in enumerate(container.decode(video=0)):
            last = frame.to_ndarray(format="rgb24")
            if index >= wanted:
                break
    assert last is not None
    return last


def _labelled(tile: np.ndarray, text: str) -> np.ndarray:
    """The tile under a black strip with `text` on it (the picture itself untouched)."""
    strip = np.zeros((18, tile.shape[1], 3), np.uint8)
    cv2.putText(strip, text, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1)
    return np.vstack([strip, tile])


def sheet(out: Path, work: Path, media_dir: Path | None, seed: int) -> None:
    rows = []
    for style in ALL_STYLES:
        tiles = []
        for number, kind in enumerate(KINDS):
            clip = render_clip(
                work / f"synthetic-{style}-{kind}.mp4", kind, seed + number, style=style,
                media_dir=media_dir, seconds=10.0,
            )  # fmt: skip
            fps = json.loads(clip.sidecar.read_text())["fps"]
            event = clip.events[0] if clip.events else None
            middle = (event.start + event.end) / 2 if event else clip.duration / 2
            tile = cv2.resize(_frame_at(clip.path, middle, fps), TILE, interpolation=cv2.INTER_AREA)
            tiles.append(_labelled(tile, f"{style} / {kind} @ {middle:.1f}s, {fps} fps"))
        rows.append(np.hstack(tiles))
    picture = np.vstack(rows)
    cv2.imwrite(str(out), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    print(f"wrote {out} ({picture.shape[1]}x{picture.shape[0]})", file=sys.stderr)


def timing(work: Path, media_dir: Path | None, clips: int) -> None:
    # Made once per process and then cached (redacted stills, cut-out walkers): made here
    # first, so each style's number is rendering alone.
    media = resolve_media_dir(media_dir)
    for name in backgrounds.available_sources(media):
        backgrounds.media_still(media, name)  # type: ignore[arg-type]
    sprites.walkers(media)
    for style in ALL_STYLES:
        folder = work / f"timing-{style}"
        started, cpu = time.perf_counter(), time.process_time()
        generate(folder, clips, seed=1, styles=[style], media_dir=media_dir, workers=1,
                 seconds=(10.0, 10.0))  # fmt: skip
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        # CPU time too: on a shared machine the wall clock mostly measures the neighbours.
        print(
            f"{style}: {clips} clips of 10 s in {elapsed:.1f} s wall, {cpu:.1f} s CPU "
            f"({elapsed / clips:.2f} s wall, {cpu / clips:.2f} s CPU per clip)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("style-sheet.png"))
    parser.add_argument("--seed", type=int, default=300)
    parser.add_argument("--timing", type=int, default=0, help="clips per style to time")
    parser.add_argument("--no-media", action="store_true", help="procedural only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        media_dir = None
        if args.no_media:
            media_dir = work / "no-media"
            media_dir.mkdir()
        sheet(args.out, work, media_dir, args.seed)
        if args.timing:
            timing(work, media_dir, args.timing)


if __name__ == "__main__":
    main()
