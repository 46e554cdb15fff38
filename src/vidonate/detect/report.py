"""The evaluation report: Markdown for people, JSON for machines, PNG charts for both.

:func:`write_report` renders one :class:`~vidonate.detect.evaluation.EvaluationResult`
into a folder: ``report.md`` (lineage, definitions, tables with intervals, the charts
embedded by relative path), ``report.json`` (the same, with the whole result) and three
PNGs. The report says plainly where a number rests on little data: fewer than
:data:`LITTLE_DATA_CLIPS` clips (or ground-truth events, or clips with positive frames),
or under :data:`LITTLE_DATA_HOURS` of footage.

Charts are drawn on matplotlib ``Figure`` objects with the Agg canvas, never through
pyplot, so rendering needs no display and touches no global backend state.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from vidonate.detect.evaluation import (
    CLASSES,
    CLIP_LABELS,
    NORMAL,
    Estimate,
    EvaluationResult,
    MetricSet,
    SubsetResult,
)

# Below these, a number is reported with a plain warning that it rests on little data.
LITTLE_DATA_CLIPS = 20
LITTLE_DATA_HOURS = 1.0

ROC_PLOT = "roc.png"
SCORES_PLOT = "scores.png"
SUBSETS_PLOT = "subsets.png"
# The subset pairs compared side by side, by SubsetResult.name.
SUBSET_PAIRS = (("staged", "real"), ("synthetic", "donated"))


@dataclass(frozen=True)
class ReportFiles:
    markdown: Path
    json: Path
    roc_plot: Path
    scores_plot: Path
    subsets_plot: Path

    @property
    def plots(self) -> tuple[Path, ...]:
        return (self.roc_plot, self.scores_plot, self.subsets_plot)


def write_report(
    result: EvaluationResult,
    out_dir: Path,
    *,
    title: str,
    model: dict[str, Any],
    release: dict[str, Any],
    threshold: float | dict[str, float],
) -> ReportFiles:
    """Write ``report.md``, ``report.json`` and the PNG charts into ``out_dir``.

    ``model`` and ``release`` are the lineage shown as given (e.g. checkpoint, commit,
    training release; release version, manifest hash, split); values JSON cannot hold
    are written as their ``str()``. ``threshold`` is the detector threshold at which the
    events in the result were detected.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(
        markdown=out_dir / "report.md",
        json=out_dir / "report.json",
        roc_plot=out_dir / ROC_PLOT,
        scores_plot=out_dir / SCORES_PLOT,
        subsets_plot=out_dir / SUBSETS_PLOT,
    )
    _save(roc_figure(result), files.roc_plot)
    _save(scores_figure(result), files.scores_plot)
    _save(subsets_figure(result), files.subsets_plot)
    markdown = render_markdown(
        result, title=title, model=model, release=release, threshold=threshold
    )
    files.markdown.write_text(markdown, encoding="utf-8")
    document = report_document(
        result, title=title, model=model, release=release, threshold=threshold
    )
    files.json.write_text(
        json.dumps(document, indent=2, allow_nan=False, default=str) + "\n", encoding="utf-8"
    )
    return files


def report_document(
    result: EvaluationResult,
    *,
    title: str,
    model: dict[str, Any],
    release: dict[str, Any],
    threshold: float | dict[str, float],
) -> dict[str, Any]:
    """What ``report.json`` holds; ``document["evaluation"]`` is ``result.to_dict()``."""
    return {
        "title": title,
        "threshold": threshold,
        "ece": result.headline()["ece"],
        "ece_uncalibrated": result.headline()["ece_uncalibrated"],
        "model": model,
        "release": release,
        "definitions": definitions(result),
        "little_data": little_data_notes(result),
        "plots": {"roc": ROC_PLOT, "scores": SCORES_PLOT, "subsets": SUBSETS_PLOT},
        "evaluation": result.to_dict(),
    }


# ------------------------------------------------------------------------ words


def definitions(result: EvaluationResult) -> dict[str, str]:
    """One short paragraph per metric, with this result's settings filled in."""
    iou = f"{result.strict_iou:g}"
    level = f"{100 * result.bootstrap.confidence:g} %"
    return {
        "Clip-level precision, recall and F1": (
            "A clip is predicted as an event class when the detector, at the threshold, "
            "output at least one event of that class; when it output events of both "
            "classes, the class of its highest-scoring event wins (an exact tie goes to "
            f"{CLASSES[0]}); a clip with no event is predicted {NORMAL}. For each of "
            f"{', '.join(CLIP_LABELS)}: precision = clips correctly predicted as the label "
            "/ clips predicted as it; recall = clips correctly predicted as it / clips "
            "whose ground truth is it; F1 = 2 × correct / (predicted + ground truth), the "
            "harmonic mean of the two. A ratio with a zero denominator is n/a."
        ),
        "Macro-F1": (
            "The unweighted mean of the three per-label F1 values, over the labels whose "
            "F1 is defined (a label with neither clips nor predictions is left out)."
        ),
        "Event-level recall and precision": (
            "A ground-truth event is recalled when some detected event of the same class "
            "overlaps it in time (their intersection is longer than 0 s: events that only "
            "touch do not overlap). A detected event is a true detection when it overlaps "
            "some ground-truth event of the same class. Recall = recalled / ground-truth "
            "events; precision = true detections / detected events; matching is not "
            "one-to-one, so two detections on one event are both true. The strict variant "
            f"requires intersection-over-union ≥ {iou} for the overlap. Per class, and for "
            "all classes pooled (all). Detections on normal clips count against precision."
        ),
        "Frame-level ROC AUC": (
            "For each event class, every frame of every clip is positive when its time "
            "lies within a ground-truth event of that class (bounds included) and negative "
            "otherwise (frames of other classes and of normal clips included); its score "
            "is the detector's per-frame probability for the class. AUC is the share of "
            "(positive, negative) frame pairs where the positive frame scores higher, a "
            "tie counting one half (Mann–Whitney); n/a without positive or negative "
            "frames. Frames of one clip are not independent: the number of clips with "
            "positive frames says how much data the AUC rests on."
        ),
        "False alarms per hour": (
            f"Detected events, of any class, on clips labelled {NORMAL} that are neither "
            "staged nor synthetic, divided by the hours of those clips; with the exact "
            f"one-sided {level} Poisson upper bound on that rate (the mean at which that "
            f"few events or fewer has probability {1 - result.bootstrap.confidence:g}, per "
            "hour; with 0 events −ln(1 − confidence) ≈ 3 per the hours observed). With "
            "little footage the bound, not the count, is what the number tells."
        ),
        "Subsets": (
            "Every metric is computed again, with its own intervals, on the staged "
            "re-enactments, on the real (not staged) clips, on the synthetic clips and on "
            "the donated (not synthetic) clips, which include real footage evaluated beside "
            "the release (such as the test media). A subset with no clips is not evaluated. "
            "False alarms per hour only ever count real (neither staged nor synthetic) "
            "normal footage."
        ),
        "Bootstrap intervals": (
            f"{level} percentile intervals from {result.bootstrap.resamples} resamples of "
            "the clips, drawn with replacement (numpy default_rng, seed "
            f"{result.bootstrap.seed}; the same seed gives the same intervals): each "
            "statistic is recomputed on every resample where it is defined and the "
            f"{(100 - 100 * result.bootstrap.confidence) / 2:g} % and "
            f"{(100 + 100 * result.bootstrap.confidence) / 2:g} % percentiles are reported. "
            "Clips, not frames or events, are resampled, because they are the independent "
            "units."
        ),
    }


def little_data_notes(result: EvaluationResult) -> list[str]:
    """Plain sentences naming every number that rests on little data."""
    notes = _little_data(result.overall, "")
    for subset in result.subsets:
        if subset.metrics is None:
            notes.append(f"Subset {subset.name}: {subset.skipped}; not evaluated.")
        elif subset.metrics.clips < LITTLE_DATA_CLIPS:
            notes.append(
                f"Subset {subset.name} has only {subset.metrics.clips} clips: its numbers "
                "rest on little data."
            )
    if result.bootstrap.resamples == 0:
        notes.append("No bootstrap was run: the numbers have no intervals.")
    return notes


def _little_data(metrics: MetricSet, where: str) -> list[str]:
    notes = []
    if metrics.clips < LITTLE_DATA_CLIPS:
        notes.append(f"Only {metrics.clips} clips{where}: every number here rests on little data.")
    for label in metrics.clip_level.per_label:
        if label.support < LITTLE_DATA_CLIPS:
            notes.append(
                f"Only {label.support} {label.label} clips{where}: their clip-level "
                "recall and F1 rest on little data."
            )
    for events in metrics.events.per_class:
        if events.truth_events < LITTLE_DATA_CLIPS:
            notes.append(
                f"Only {events.truth_events} ground-truth {events.label} events{where}: "
                "their event recall rests on little data."
            )
    for frames in metrics.frames:
        if frames.positive_clips < LITTLE_DATA_CLIPS:
            notes.append(
                f"The {frames.label} ROC AUC{where} rests on positive frames from "
                f"{frames.positive_clips} clips only."
            )
    alarms = metrics.false_alarms
    if alarms.clips == 0:
        notes.append(f"No real normal footage{where}: false alarms per hour are unknown.")
    elif alarms.hours < LITTLE_DATA_HOURS:
        notes.append(
            f"False alarms per hour{where} rest on {_hours(alarms.hours)} of real normal "
            f"footage, under {LITTLE_DATA_HOURS:g} h: read the upper bound, not the rate."
        )
    return notes


def false_alarm_sentence(metrics: MetricSet) -> str:
    """E.g. "0 false alarms in 0.03 h (1.8 min) of real normal footage (2 clips): …"."""
    alarms = metrics.false_alarms
    if alarms.clips == 0:
        return (
            f"No real normal footage (clips labelled {NORMAL}, neither staged nor "
            "synthetic): false alarms per hour cannot be estimated."
        )
    level = f"{100 * alarms.confidence:g} %"
    noun = "false alarm" if alarms.events == 1 else "false alarms"
    sentence = (
        f"{alarms.events} {noun} in {_hours(alarms.hours)} of real normal footage "
        f"({alarms.clips} clips): {_number(alarms.per_hour, 2)} per hour, one-sided "
        f"{level} upper bound {_number(alarms.upper_per_hour, 2)} per hour."
    )
    if alarms.hours < LITTLE_DATA_HOURS:
        sentence += (
            f" This rests on under {LITTLE_DATA_HOURS:g} h of footage: it shows at most "
            "that the rate is below the bound."
        )
    return sentence


# --------------------------------------------------------------------- Markdown


def render_markdown(
    result: EvaluationResult,
    *,
    title: str,
    model: dict[str, Any],
    release: dict[str, Any],
    threshold: float | dict[str, float],
) -> str:
    overall = result.overall
    lines = [f"# {_inline(title)}", ""]

    lines += ["## Lineage", ""]
    lines += _mapping_list("Model", model)
    lines += _mapping_list("Release", release)
    lines += [
        f"- **Threshold**: {_thresholds(threshold)} (the detected events evaluated here are "
        "the detector's output at this threshold)",
        f"- **Bootstrap**: {result.bootstrap.resamples} resamples of clips, seed "
        f"{result.bootstrap.seed}, {100 * result.bootstrap.confidence:g} % percentile "
        "intervals",
        "",
    ]

    lines += ["## Data", ""]
    lines += [
        f"{overall.clips} clips, {_hours(overall.hours)} of footage: "
        + ", ".join(f"{m.support} {m.label}" for m in overall.clip_level.per_label)
        + ".",
        "",
    ]
    lines += ["| subset | clips | hours |", "|---|---:|---:|"]
    for subset in result.subsets:
        clips = subset.metrics.clips if subset.metrics else 0
        hours = _hours(subset.metrics.hours) if subset.metrics else "–"
        lines.append(f"| {subset.name} ({subset.description}) | {clips} | {hours} |")
    lines.append("")
    notes = little_data_notes(result)
    if notes:
        lines += ["**Rests on little data:**", ""]
        lines += [f"- {note}" for note in notes]
        lines.append("")

    lines += ["## Definitions", ""]
    for name, paragraph in definitions(result).items():
        lines += [f"**{name}.** {paragraph}", ""]

    lines += ["## Clip-level precision, recall and F1", ""]
    lines += _clip_table(overall)
    lines += [
        "",
        f"**Macro-F1**: {_estimate(overall.clip_level.macro_f1)}",
        "",
        reliability_sentence(overall),
        "",
        "Confusion matrix (rows: ground truth, columns: predicted):",
        "",
        "| | " + " | ".join(CLIP_LABELS) + " |",
        "|---|" + "---:|" * len(CLIP_LABELS),
    ]
    for label, row in zip(CLIP_LABELS, overall.clip_level.confusion, strict=True):
        lines.append(f"| {label} | " + " | ".join(str(n) for n in row) + " |")
    lines += ["", f"![Precision, recall and F1 per class]({SCORES_PLOT})", ""]

    lines += ["## Event-level recall and precision", ""]
    lines += _event_table(overall, result.strict_iou)
    lines.append("")

    lines += ["## Frame-level ROC AUC", ""]
    lines += [
        "| class | positive frames | negative frames | clips with positive frames | ROC AUC |",
        "|---|---:|---:|---:|---|",
    ]
    for frames in overall.frames:
        lines.append(
            f"| {frames.label} | {frames.positive_frames} | {frames.negative_frames} | "
            f"{_count(frames.positive_clips)} | {_estimate(frames.auc)} |"
        )
    lines += ["", f"![ROC curves per class]({ROC_PLOT})", ""]

    lines += ["## False alarms per hour on real normal footage", ""]
    lines += [false_alarm_sentence(overall), ""]

    lines += ["## Subsets", ""]
    lines += _subset_table(result)
    lines += ["", f"![Subsets compared]({SUBSETS_PLOT})", ""]
    for subset in result.subsets:
        if subset.metrics is None:
            continue
        lines += [f"### Subset: {subset.name} ({subset.description})", ""]
        lines += _clip_table(subset.metrics)
        lines += ["", f"Macro-F1: {_estimate(subset.metrics.clip_level.macro_f1)}", ""]
        lines += _event_table(subset.metrics, result.strict_iou)
        lines += [
            "",
            "ROC AUC: " + "; ".join(f"{f.label} {_estimate(f.auc)}" for f in subset.metrics.frames),
            "",
            false_alarm_sentence(subset.metrics),
            "",
        ]
    return "\n".join(lines)


def reliability_sentence(metrics: MetricSet) -> str:
    """The calibration error of clip-level event scores, after and before calibration."""
    reliability = metrics.reliability
    if reliability is None or reliability.pairs == 0:
        return "**Calibration error (ECE)**: not computed."
    before = (
        f", {_number(reliability.ece_uncalibrated)} before it"
        if not math.isnan(reliability.ece_uncalibrated)
        else ""
    )
    return (
        f"**Calibration error (ECE)** of clip-level event scores (each clip's peak score of "
        f"each class, {reliability.pairs} pairs, {reliability.bins} bins): "
        f"{_number(reliability.ece)} after the detector's score calibration{before}."
    )


def _thresholds(threshold: float | dict[str, float]) -> str:
    if isinstance(threshold, dict):
        return ", ".join(f"{label} {value:g}" for label, value in threshold.items())
    return f"{threshold:g}"


def _clip_table(metrics: MetricSet) -> list[str]:
    lines = [
        "| label | clips | predicted | precision | recall | F1 |",
        "|---|---:|---:|---|---|---|",
    ]
    for m in metrics.clip_level.per_label:
        lines.append(
            f"| {m.label} | {_count(m.support)} | {m.predicted} | {_estimate(m.precision)} "
            f"| {_estimate(m.recall)} | {_estimate(m.f1)} |"
        )
    return lines


def _event_table(metrics: MetricSet, strict_iou: float) -> list[str]:
    lines = [
        "| class | ground-truth events | detected events | recall | precision "
        f"| recall (IoU ≥ {strict_iou:g}) | precision (IoU ≥ {strict_iou:g}) |",
        "|---|---:|---:|---|---|---|---|",
    ]
    for e in (*metrics.events.per_class, metrics.events.overall):
        lines.append(
            f"| {e.label} | {_count(e.truth_events)} | {e.detected_events} | "
            f"{_estimate(e.recall)} | {_estimate(e.precision)} | "
            f"{_estimate(e.recall_strict)} | {_estimate(e.precision_strict)} |"
        )
    return lines


def _subset_table(result: EvaluationResult) -> list[str]:
    lines = [
        "| subset | clips | macro-F1 | event recall | event precision | "
        + " | ".join(f"ROC AUC {label}" for label in CLASSES)
        + " | false alarms per hour (upper bound) |",
        "|---|---:|---|---|---|" + "---|" * len(CLASSES) + "---|",
    ]
    rows: list[tuple[str, MetricSet | None, str | None]] = [("all", result.overall, None)]
    rows += [(s.name, s.metrics, s.skipped) for s in result.subsets]
    for name, metrics, skipped in rows:
        if metrics is None:
            lines.append(f"| {name} | 0 | {skipped}, not evaluated |" + " |" * (3 + len(CLASSES)))
            continue
        alarms = metrics.false_alarms
        alarm_cell = (
            "no real normal footage"
            if alarms.clips == 0
            else f"{_number(alarms.per_hour, 2)} (≤ {_number(alarms.upper_per_hour, 2)}) "
            f"in {_hours(alarms.hours)}"
        )
        lines.append(
            f"| {name} | {_count(metrics.clips)} | {_estimate(metrics.clip_level.macro_f1)} | "
            f"{_estimate(metrics.events.overall.recall)} | "
            f"{_estimate(metrics.events.overall.precision)} | "
            + " | ".join(_estimate(f.auc) for f in metrics.frames)
            + f" | {alarm_cell} |"
        )
    return lines


def _mapping_list(heading: str, mapping: dict[str, Any]) -> list[str]:
    if not mapping:
        return [f"- **{heading}**: not given"]
    lines = [f"- **{heading}**:"]
    for key, value in mapping.items():
        shown = value if isinstance(value, str) else json.dumps(value, default=str)
        lines.append(f"  - {_inline(str(key))}: {_inline(shown)}")
    return lines


def _inline(text: str) -> str:
    """Text safe inside one Markdown line or table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _number(value: float, digits: int = 3) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.{digits}f}"


def _estimate(estimate: Estimate) -> str:
    if not math.isfinite(estimate.value):
        return "n/a"
    if not (math.isfinite(estimate.low) and math.isfinite(estimate.high)):
        return f"{estimate.value:.3f} (no interval)"
    return f"{estimate.value:.3f} [{estimate.low:.3f}, {estimate.high:.3f}]"


def _count(n: int) -> str:
    return f"{n} (little data)" if n < LITTLE_DATA_CLIPS else str(n)


def _hours(hours: float) -> str:
    if hours >= 1:
        return f"{hours:.1f} h"
    return f"{hours:.2g} h ({60 * hours:.1f} min)"


# ------------------------------------------------------------------------ charts


def _save(figure: Figure, path: Path) -> None:
    FigureCanvasAgg(figure)  # attaches itself to the figure: Agg, no display, no pyplot
    figure.savefig(path, dpi=100)


def roc_figure(result: EvaluationResult) -> Figure:
    """The ROC curve of each event class on all clips, with its AUC and interval."""
    figure = Figure(figsize=(5 * len(CLASSES), 4.8), layout="constrained")
    axes = figure.subplots(1, len(CLASSES), squeeze=False)[0]
    for ax, frames in zip(axes, result.overall.frames, strict=True):
        ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="chance")
        if frames.false_positive_rate:
            ax.plot(
                frames.false_positive_rate,
                frames.true_positive_rate,
                color="C0",
                label=f"all clips: AUC {_estimate(frames.auc)}",
            )
        else:
            missing = "positive" if frames.positive_frames == 0 else "negative"
            ax.text(0.5, 0.5, f"no {missing} frames:\nAUC undefined", ha="center")
        ax.set_title(
            f"{_pretty(frames.label)}: frames; clips with positives: {frames.positive_clips}"
        )
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_aspect("equal")
        ax.legend(loc="lower right", fontsize=8)
    return figure


def scores_figure(result: EvaluationResult) -> Figure:
    """Clip-level precision/recall/F1 and event-level recall/precision per class, with
    bootstrap whiskers."""
    overall = result.overall
    figure = Figure(figsize=(13, 4.8), layout="constrained")
    clip_ax, event_ax = figure.subplots(1, 2)
    per_label = overall.clip_level.per_label
    _grouped_bars(
        clip_ax,
        [_pretty(m.label) for m in per_label],
        [
            ("precision", [m.precision for m in per_label]),
            ("recall", [m.recall for m in per_label]),
            ("F1", [m.f1 for m in per_label]),
        ],
        f"Clip level (macro-F1 {_number(overall.clip_level.macro_f1.value)})",
    )
    events = (*overall.events.per_class, overall.events.overall)
    iou = f"{result.strict_iou:g}"
    _grouped_bars(
        event_ax,
        [_pretty(e.label) for e in events],
        [
            ("recall", [e.recall for e in events]),
            ("precision", [e.precision for e in events]),
            (f"recall, IoU ≥ {iou}", [e.recall_strict for e in events]),
            (f"precision, IoU ≥ {iou}", [e.precision_strict for e in events]),
        ],
        "Event level",
    )
    return figure


def subsets_figure(result: EvaluationResult) -> Figure:
    """Headline metrics of each subset pair side by side, all clips for reference."""
    figure = Figure(figsize=(13, 4.8), layout="constrained")
    axes = figure.subplots(1, len(SUBSET_PAIRS), squeeze=False)[0]
    metric_names = [
        "macro-F1",
        "event recall",
        "event precision",
        *(f"AUC\n{_pretty(label)}" for label in CLASSES),
    ]
    for ax, pair in zip(axes, SUBSET_PAIRS, strict=True):
        series: list[tuple[str, Sequence[Estimate | None]]] = [
            ("all clips", _headline(result.overall))
        ]
        for name in pair:
            subset = result.subset(name)
            series.append((_subset_legend(subset), _headline(subset.metrics)))
        _grouped_bars(ax, metric_names, series, " vs ".join(pair))
    return figure


def _headline(metrics: MetricSet | None) -> list[Estimate | None]:
    if metrics is None:
        return [None] * (3 + len(CLASSES))
    return [
        metrics.clip_level.macro_f1,
        metrics.events.overall.recall,
        metrics.events.overall.precision,
        *(frames.auc for frames in metrics.frames),
    ]


def _subset_legend(subset: SubsetResult) -> str:
    if subset.metrics is None:
        return f"{subset.name} ({subset.skipped})"
    return f"{subset.name} ({subset.metrics.clips} clips)"


def _grouped_bars(
    ax: Axes,
    groups: Sequence[str],
    series: Sequence[tuple[str, Sequence[Estimate | None]]],
    title: str,
) -> None:
    """Bars per group and series, with a whisker for each bootstrap interval; "n/a"
    where a value is undefined. Whiskers are drawn as lines rather than error bars
    because a percentile interval need not contain its point estimate."""
    width = 0.8 / len(series)
    centres = np.arange(len(groups), dtype=np.float64)
    for k, (name, estimates) in enumerate(series):
        positions = centres - 0.4 + width * (k + 0.5)
        values = [e.value if e is not None else math.nan for e in estimates]
        ax.bar(positions, np.nan_to_num(values), width, label=name, color=f"C{k}")
        for x, estimate in zip(positions, estimates, strict=True):
            if estimate is None or not math.isfinite(estimate.value):
                ax.text(x, 0.02, "n/a", rotation=90, ha="center", va="bottom", fontsize=7)
            elif math.isfinite(estimate.low) and math.isfinite(estimate.high):
                ax.vlines(x, estimate.low, estimate.high, color="black", linewidth=1)
                ax.hlines(
                    [estimate.low, estimate.high],
                    x - width / 4,
                    x + width / 4,
                    color="black",
                    linewidth=1,
                )
    ax.set_xticks(centres, list(groups), fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    # Below the axes, where it can hide no bar and no "n/a".
    ax.legend(
        fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=len(series), frameon=False
    )


def _pretty(label: str) -> str:
    return label.replace("_", " ")
