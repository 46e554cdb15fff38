"""The theft detector end to end, against the issue's targets, on one line.

In a fresh embedded deployment (a temp dir: SQLite, local encrypted blob store):

1. ``vidonate synth``: enough staged scenes (a quarter of each kind) that the release's
   train and val splits hold about ``--clips`` (default 600), imported as synthetic clips;
2. ``vidonate release create`` (seed 0: group-disjoint 70/15/15 splits);
3. ``vidonate train`` on the release's train clips, the event threshold picked on its val
   clips (2 cores, timed, feature extraction included; the line counts both);
4. ``vidonate evaluate`` on the held-out test split plus the real footage in the test-media
   folder (normal activity only: every event there is a false alarm);
5. detection speed: ``Detector.analyse`` (decode, motion gate, network, events) on a
   640×360, 10 fps clip, in frames per second and times real time.

Progress goes to stderr; stdout gets one line with each number, its target and the ratio
to the target. The evaluation report (Markdown, JSON, PNG) is kept with ``--report DIR``.

Run: ``.venv/bin/python bench/detector.py [--clips 600] [--report DIR]``.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

TARGET_F1 = 0.95
TARGET_EVENT_RECALL = 0.95
TARGET_FALSE_ALARMS_PER_HOUR = 1.0
TARGET_SPEED = 20.0  # times real time
TARGET_TRAIN_MINUTES = 15.0


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report", type=Path, default=None, help="keep the report here")
    args = parser.parse_args()

    from vidonate.config import Settings
    from vidonate.datasets.release import create_release
    from vidonate.datasets.synthetic import import_synthetic
    from vidonate.db.engine import transaction
    from vidonate.detect.infer import Detector
    from vidonate.detect.lineage import fetch_model
    from vidonate.detect.pipeline import evaluate_release, train_release
    from vidonate.ingest.samples import test_media_dir
    from vidonate.server import prepare
    from vidonate.synth import generate, render_clip

    work = Path(tempfile.mkdtemp(prefix="vidonate-bench-detector-"))
    try:
        rt = prepare(Settings(var_dir=work / "var", worker_threads=0), seed=False).runtime
        media = test_media_dir()
        media = media if media is not None and media.is_dir() else None

        t0 = time.perf_counter()

        def rendered(done: int, total: int) -> None:
            if done % 50 == 0 or done == total:
                progress(f"  rendered {done}/{total}")

        # Train and val are 85 % of a release: render enough for `--clips` of them.
        rendered_clips = math.ceil(args.clips / 0.85)
        scenes = generate(
            work / "scenes", rendered_clips, seed=args.seed, workers=2, progress=rendered
        )
        progress(f"rendered {len(scenes)} scenes in {time.perf_counter() - t0:.0f} s")
        import_synthetic(rt.sessions, rt.vault, rt.store, scenes)
        with transaction(rt.sessions) as session:
            release = create_release(session, seed=args.seed)
            version = release.version
        progress(f"release v{version}: {release.clips} clips")

        t0 = time.perf_counter()

        def trained(stage: str, done: int, total: int) -> None:
            if done == total:
                progress(f"  {stage}: {total} done")

        model = train_release(rt.pipeline(), version, seed=args.seed, progress=trained)
        train_minutes = (time.perf_counter() - t0) / 60
        record = model.config["training"]
        trained_on = record["clips"] + record["validation_clips"]
        progress(f"trained model {model.id} in {train_minutes:.1f} min")

        report_dir = args.report or work / "report"
        done = evaluate_release(rt.pipeline(), model.id, version, report_dir, media_dir=media)
        synthetic = done.result.subset("synthetic").metrics
        assert synthetic is not None, "the test split holds synthetic clips"
        real = done.result.overall.false_alarms
        macro_f1 = synthetic.clip_level.macro_f1.value
        f1_low, f1_high = synthetic.clip_level.macro_f1.low, synthetic.clip_level.macro_f1.high
        event_recall = synthetic.events.overall.recall.value
        progress(f"report: {done.files.markdown}")

        # Speed: one 60 s clip at 640x360, 10 fps, the format the target names.
        speed_clip = render_clip(work / "synthetic-speed.mp4", "package_theft", 7, seconds=60.0)
        model_dir = fetch_model(rt.store, model, work / "model")
        detector = Detector.load(model_dir)
        detector.analyse(speed_clip.path)  # warm-up
        t0 = time.perf_counter()
        detection = detector.analyse(speed_clip.path)
        seconds = time.perf_counter() - t0
        fps = len(detection.times) / seconds
        speed = speed_clip.duration / seconds
        rt.close()

        print(
            f"detector: synthetic test ({synthetic.clips} clips) macro-F1 {macro_f1:.3f} "
            f"[{f1_low:.3f}, {f1_high:.3f}] (target {TARGET_F1}, ratio "
            f"{macro_f1 / TARGET_F1:.2f}), event recall {event_recall:.3f} (target "
            f"{TARGET_EVENT_RECALL}, ratio {event_recall / TARGET_EVENT_RECALL:.2f}), "
            f"real normal footage {real.events} false alarms in {real.hours * 60:.1f} min = "
            f"{real.per_hour:.2f}/h (target <= {TARGET_FALSE_ALARMS_PER_HOUR}/h; 95% upper bound "
            f"{real.upper_per_hour:.0f}/h), detect {fps:.0f} frames/s = {speed:.0f}x real "
            f"time (target {TARGET_SPEED:.0f}x, ratio {speed / TARGET_SPEED:.1f}), train "
            f"{train_minutes:.1f} min on {trained_on} clips ({record['clips']} train + "
            f"{record['validation_clips']} val; target <= {TARGET_TRAIN_MINUTES:.0f})"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
