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

from vidonate.synth import ALL_STYLES, KINDS, generate, render_clip

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
    for style in ALL_STYLES:
        folder = work / f"timing-{style}"
        # Warm up once (media stills, walkers) so the numbers are per-clip rendering.
        generate(folder / "warm", 1, seed=99, styles=[style], media_dir=media_dir,
                 seconds=(10.0, 10.0))  # fmt: skip
        started = time.perf_counter()
        generate(folder, clips, seed=1, styles=[style], media_dir=media_dir, workers=1,
                 seconds=(10.0, 10.0))  # fmt: skip
        elapsed = time.perf_counter() - started
        print(f"{style}: {clips} clips of 10 s in {elapsed:.1f} s ({elapsed / clips:.2f} s/clip)")


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
