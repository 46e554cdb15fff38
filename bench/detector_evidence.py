"""What each behaviour-level evidence channel adds, measured where it matters: on
rendering styles a model never trained on (leave one style out), and on real footage.

The issue asks for the evidence channels (``vidonate.detect.evidence``: ``bg``,
``removed``, ``dwell``, ``hog``) to be measured by what they add to the
leave-one-style-out numbers. This bench renders one set of clips (every training style
and the exam style, decoded once, with the HOG person map so every configuration can
read it) and then, for each evidence configuration in ``--configs`` (the first is the
baseline), trains one model per held-out style on the other training styles (seed 0),
calibrates it on the exam style, and scores it on every clip of the held-out style and
on the real normal footage of this machine. Configurations are cumulative by default:
none, then the three maps computed from the frames, then HOG on top, so each step's
difference is what that step adds.

Everything a configuration is compared with is measured in the same run, on the same
clips and the same seeds, so the differences are the channels' and not the machine's.
Training is deterministic for a seed (``tests/detect/test_determinism.py``), so the
quality numbers do not depend on how busy the machine is; the minutes do.

Progress goes to stderr; stdout gets one line: per configuration the worst and mean
held-out event recall and macro-F1, the real-footage false alarms, and the ratio of its
worst held-out recall and macro-F1 to the baseline's.

Run: ``.venv/bin/python bench/detector_evidence.py [--configs "none;bg,removed,dwell;
bg,removed,dwell,hog"] [--train-per-style 60] [--test-per-style 20] [--calibration 80]
[--json F]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from detector import (
    alarms_by_file,
    poisson_upper,
    progress,
    real_footage,
    render,
    score,
    train_one,
)

DEFAULT_CONFIGS = "none;bg,removed,dwell;bg,removed,dwell,hog"


def parse_configs(text: str) -> list[tuple[str, ...]]:
    """``"none;bg,dwell"`` -> ``[(), ("bg", "dwell")]``."""
    configs = []
    for part in text.split(";"):
        names = tuple(n.strip() for n in part.split(",") if n.strip() and n.strip() != "none")
        configs.append(names)
    return configs


def name_of(config: tuple[str, ...]) -> str:
    return ",".join(config) or "none"


def ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.2f}" if baseline else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--configs", default=DEFAULT_CONFIGS, help="';'-separated, first = baseline"
    )
    parser.add_argument("--train-per-style", type=int, default=60)
    parser.add_argument("--test-per-style", type=int, default=20)
    parser.add_argument("--calibration", type=int, default=80, help="exam-style clips")
    parser.add_argument("--render-seed", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument("--epochs", type=int, default=None, help="override the epoch rule")
    parser.add_argument("--footage-cache", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="write every run's numbers")
    args = parser.parse_args()

    from vidonate.detect.evidence import check_channels, needs_hog
    from vidonate.detect.train import TrainConfig
    from vidonate.synth.styles import TRAINING_STYLES

    configs = [check_channels(c) for c in parse_configs(args.configs)]
    hog = any(needs_hog(c) for c in configs)
    work = Path(tempfile.mkdtemp(prefix="vidonate-bench-evidence-"))
    record: dict[str, Any] = {"configs": [name_of(c) for c in configs], "runs": {}}
    started = time.perf_counter()
    try:
        progress(f"rendering {len(TRAINING_STYLES)} training styles and the exam style"
                 f"{' (with the HOG person map)' if hog else ''}")  # fmt: skip
        sets = render(work, args, hog)
        footage, hours, _ = real_footage(work, args.footage_cache, hog)
        results: dict[str, dict[str, Any]] = {}
        for channels in configs:
            config = replace(TrainConfig(), evidence=channels, epochs=args.epochs)
            held_out: dict[str, dict[str, Any]] = {}
            alarms, minutes = 0, []
            for style in TRAINING_STYLES:
                others = [c for s in TRAINING_STYLES if s != style for c in sets["train"][s]]
                label = f"{name_of(channels)} without {style}"
                model, took = train_one(
                    others, sets["calibration"], work / f"{name_of(channels)}-{style}",
                    args.seed, config, label,
                )  # fmt: skip
                minutes.append(took)
                numbers = score(model, sets["train"][style] + sets["test"][style])
                # The real footage is analysed once: its events are the false alarms.
                by_file = alarms_by_file(model, footage)
                real = sum(len(labels) for labels in by_file.values())
                alarms += real
                held_out[style] = {
                    **numbers, "real_false_alarms": real, "minutes": took,
                    "alarms_by_file": by_file,
                }  # fmt: skip
                record["runs"][label] = held_out[style]
                progress(f"  {label}: {json.dumps(held_out[style])}")
            recall = {s: n["event_recall"] for s, n in held_out.items()}
            f1 = {s: n["macro_f1"] for s, n in held_out.items()}
            pooled = hours * len(held_out)
            results[name_of(channels)] = {
                "recall_worst": min(recall.values()),
                "recall_mean": statistics.mean(recall.values()),
                "f1_worst": min(f1.values()), "f1_mean": statistics.mean(f1.values()),
                "worst_style": min(recall, key=lambda s: recall[s]),
                "false_alarms": alarms, "per_hour": alarms / pooled if pooled else float("nan"),
                "upper_per_hour": poisson_upper(alarms, pooled), "minutes": sum(minutes),
            }  # fmt: skip
        total = (time.perf_counter() - started) / 60
        record.update(results=results, real_minutes=hours * 60, total_minutes=total)
        if args.json:
            args.json.write_text(json.dumps(record, indent=2))
        base = results[name_of(configs[0])]
        parts = []
        for name, r in results.items():
            recall_ratio = ratio(r["recall_worst"], base["recall_worst"])
            f1_ratio = ratio(r["f1_worst"], base["f1_worst"])
            parts.append(
                f"{name}: held-out recall worst {r['recall_worst']:.3f} ({r['worst_style']}) "
                f"mean {r['recall_mean']:.3f} (ratio {recall_ratio}), "
                f"macro-F1 worst {r['f1_worst']:.3f} mean {r['f1_mean']:.3f} "
                f"(ratio {f1_ratio}), real {r['false_alarms']} false "
                f"alarms = {r['per_hour']:.1f}/h (bound {r['upper_per_hour']:.0f}/h), "
                f"{r['minutes']:.0f} min"
            )
        print(
            f"detector evidence (leave one style out, {len(TRAINING_STYLES)} styles, "
            f"{args.train_per_style}+{args.test_per_style} clips each, seed {args.seed}; real "
            f"footage {hours * 60:.1f} min x {len(TRAINING_STYLES)} models; ratios to "
            f"{name_of(configs[0])}, the baseline): "
            + "; ".join(parts)
            + f"; bench {total:.0f} min"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
