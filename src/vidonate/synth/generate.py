"""Many clips at once: kinds in turn, one seed per clip derived from the run's seed, worker
processes, and a manifest of everything written.

Clip i of a run has kind ``kinds[i % len(kinds)]``, style ``styles[(i // len(kinds)) %
len(styles)]`` (each style gets every kind in turn, so whole rounds give each style an
equal share of each kind) and seed :func:`clip_seed` (seed, i), so a run of n clips starts
with the same clips as a shorter run with the same seed, and no clip depends on which
worker made it or when.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vidonate.synth import backgrounds
from vidonate.synth.clip import (
    DEFAULT_SECONDS,
    FILE_PREFIX,
    KINDS,
    SynthClip,
    check_kind,
    write_json,
)
from vidonate.synth.render import check_seconds, render_scene, resolve_media_dir
from vidonate.synth.scene import background_source
from vidonate.synth.styles import expand_styles, sprites

MANIFEST = "manifest.json"


def clip_seed(seed: int, index: int) -> int:
    """The seed of clip `index` of a run seeded with `seed` (a 32-bit number)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1, np.uint32)[0])


def clip_name(index: int, kind: str, style: str = "classic") -> str:
    drawn = "" if style == "classic" else f"{style}-"
    return f"{FILE_PREFIX}{index:05d}-{drawn}{kind}.mp4"


@dataclass(frozen=True)
class _Job:
    index: int
    path: Path
    kind: str
    seed: int
    run_seed: int
    media_dir: Path | None
    seconds: tuple[float, float]
    style: str = "classic"
    camera_rig: bool | None = None


def _render(job: _Job) -> tuple[int, SynthClip]:
    extra: dict[str, object] = {
        "run": {"seed": job.run_seed, "index": job.index, "seconds": list(job.seconds)}
    }
    clip = render_scene(
        job.path,
        job.kind,
        job.seed,
        job.media_dir,
        job.seconds,
        style=job.style,
        camera_rig=job.camera_rig,
        extra=extra,
    )
    return job.index, clip


def _start_worker(
    media_dir: Path | None,
    stills: list[backgrounds.Still],
    walkers: tuple[sprites.Walker, ...] | None,
) -> None:
    # One thread each: the processes are the parallelism (x264 is set to one thread too).
    cv2.setNumThreads(1)
    if media_dir is not None:
        backgrounds.preload(media_dir, stills)
    if walkers is not None:
        sprites.preload(media_dir, walkers)


def generate(
    out_dir: Path,
    n: int,
    *,
    seed: int = 0,
    kinds: Sequence[str] = KINDS,
    media_dir: Path | None = None,
    workers: int = 1,
    seconds: tuple[float, float] = DEFAULT_SECONDS,
    progress: Callable[[int, int], None] | None = None,
    styles: Sequence[str] | None = None,
    camera_rig: bool | None = None,
) -> list[SynthClip]:
    """Render `n` clips into `out_dir`, kinds taken in turn from `kinds` and styles in
    turn per round of kinds (see the module's docstring), and write ``manifest.json``
    listing them. Returns the clips in index order.

    `styles` None is ("classic",), the original clips; names may include the sets
    "all-training" and "all". `camera_rig` None leaves camera variation to each style
    (off for classic); True or False sets it for all. `media_dir` None uses the shared
    test media when present (else only procedural backgrounds); `progress(done, n)` is
    called after each finished clip."""
    if n < 0:
        raise ValueError("n cannot be negative")
    if workers < 1:
        raise ValueError("workers must be at least 1")
    kinds = tuple(check_kind(kind) for kind in kinds)
    if not kinds:
        raise ValueError("kinds cannot be empty")
    styles = expand_styles(styles) if styles is not None else ("classic",)
    if not styles:
        raise ValueError("styles cannot be empty")
    seconds = (float(seconds[0]), float(seconds[1]))
    check_seconds(seconds)
    media = resolve_media_dir(media_dir)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = []
    for index in range(n):
        kind = kinds[index % len(kinds)]
        style = styles[(index // len(kinds)) % len(styles)]
        jobs.append(
            _Job(
                index,
                out_dir / clip_name(index, kind, style),
                kind,
                clip_seed(seed, index),
                seed,
                media,
                seconds,
                style,
                camera_rig,
            )
        )
    stills = _stills_needed(jobs, media)
    cut_out = any(job.style == "cutout" for job in jobs)
    walkers = sprites.walkers(media) if cut_out and workers > 1 else None
    clips: dict[int, SynthClip] = {}
    if workers == 1 or len(jobs) <= 1:
        for job in jobs:
            index, clip = _render(job)
            clips[index] = clip
            if progress is not None:
                progress(len(clips), n)
    else:
        # Spawned, not forked: the parent may hold onnxruntime's threads from redaction.
        context = multiprocessing.get_context("spawn")
        with context.Pool(
            min(workers, len(jobs)), initializer=_start_worker, initargs=(media, stills, walkers)
        ) as pool:
            for index, clip in pool.imap_unordered(_render, jobs):
                clips[index] = clip
                if progress is not None:
                    progress(len(clips), n)
    ordered = [clips[i] for i in range(n)]
    record = manifest(ordered, seed=seed, kinds=kinds, seconds=seconds, styles=styles)
    write_json(out_dir / MANIFEST, record)
    return ordered


def _stills_needed(jobs: list[_Job], media: Path | None) -> list[backgrounds.Still]:
    """Make, once and here, the redacted stills that some clip's background comes from."""
    if media is None:
        return []
    sources = backgrounds.available_sources(media)
    chosen = {background_source(job.seed, sources) for job in jobs}
    if any(job.style == "cutout" for job in jobs) and sprites.FOOTAGE in sources:
        chosen.add(sprites.FOOTAGE)  # the cut-out style's own backdrop
    needed = sorted(chosen - {backgrounds.PROCEDURAL})
    return [backgrounds.media_still(media, name) for name in needed]


def manifest(
    clips: list[SynthClip],
    *,
    seed: int,
    kinds: tuple[str, ...],
    seconds: tuple[float, float],
    styles: tuple[str, ...] = ("classic",),
) -> dict[str, object]:
    """The run's table of contents: every clip with its label, style and events."""
    return {
        "synthetic": True,
        "generator": "vidonate.synth",
        "seed": seed,
        "n": len(clips),
        "kinds": list(kinds),
        "styles": list(styles),
        "seconds": list(seconds),
        "clips": [
            {
                "file": clip.path.name,
                "sidecar": clip.sidecar.name,
                "kind": clip.kind,
                "label": clip.label,
                "style": clip.style,
                "duration": clip.duration,
                "events": [{"start": e.start, "end": e.end, "label": e.label} for e in clip.events],
            }
            for clip in clips
        ],
    }
