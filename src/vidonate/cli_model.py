"""``vidonate model ...``: the registry of trained detectors, promotion through the gate,
export; and the body of ``vidonate detect`` (many clips with one loaded model)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from vidonate.cli_common import err, fail, stage_progress
from vidonate.cli_server import runtime_or_exit
from vidonate.db.engine import transaction
from vidonate.errors import VidonateError

if TYPE_CHECKING:
    from vidonate.db.models import DetectorModel
    from vidonate.db.models_detect import ModelPromotion
    from vidonate.detect.infer import Detector
    from vidonate.detect.promotion import GateReport

model_app = typer.Typer(help="Trained detector models: list, show, promote, export.")
console = Console()

ModelArg = Annotated[str, typer.Argument(help="a model id, latest (newest) or served")]


def _headline(model: DetectorModel) -> dict[str, Any]:
    """The newest evaluation's numbers, else training's validation numbers."""
    evaluations = model.metrics.get("evaluations") or {}
    if evaluations:
        return dict(list(evaluations.values())[-1])
    return dict((model.metrics.get("training") or {}).get("validation") or {})


def _metric(values: dict[str, Any], key: str) -> str:
    value = values.get(key)
    return f"{value:.3f}" if isinstance(value, int | float) else "–"


@model_app.command("list")
def model_list() -> None:
    """Every model, oldest first; * marks the served one."""
    from sqlalchemy import select

    from vidonate.db.models import DetectorModel, Release
    from vidonate.detect.serving import served_model_or_none

    table = Table("", "id", "release", "created", "macro-F1", "event recall", "code")
    with transaction(runtime_or_exit().sessions) as session:
        served = served_model_or_none(session)
        versions = {rid: v for rid, v in session.execute(select(Release.id, Release.version))}
        for model in session.scalars(select(DetectorModel).order_by(DetectorModel.id)):
            headline = _headline(model)
            table.add_row(
                "*" if served is not None and served.id == model.id else "", str(model.id),
                f"v{versions[model.release_id]}" if model.release_id in versions else "–",
                model.created_at.strftime("%Y-%m-%d %H:%M"), _metric(headline, "macro_f1"),
                _metric(headline, "event_recall"), model.code_version,
            )  # fmt: skip
    console.print(table)


@model_app.command("show")
def model_show(model: ModelArg) -> None:
    """A model as JSON: lineage, configuration, metrics and promotions."""
    from sqlalchemy import select

    from vidonate.db.models import Release
    from vidonate.db.models_detect import ModelPromotion
    from vidonate.detect.serving import resolve_model, served_model_or_none

    try:
        with transaction(runtime_or_exit().sessions) as session:
            found = resolve_model(session, model)
            release = session.get(Release, found.release_id) if found.release_id else None
            served = served_model_or_none(session)
            promoted = session.scalars(
                select(ModelPromotion).where(ModelPromotion.model_id == found.id)
            ).all()
            shown = {
                "id": found.id, "served": served is not None and served.id == found.id,
                "release": f"v{release.version}" if release else None,
                "code_version": found.code_version, "artifact_sha256": found.artifact_sha256,
                "created_at": found.created_at.isoformat(), "config": found.config,
                "metrics": found.metrics, "promotions": [_promotion_dict(p) for p in promoted],
            }  # fmt: skip
    except VidonateError as exc:
        fail(exc)
    typer.echo(json.dumps(shown, indent=2))


def _promotion_dict(promotion: ModelPromotion) -> dict[str, Any]:
    return {
        "id": promotion.id, "model": promotion.model_id,
        "previous_model": promotion.previous_model_id, "forced": promotion.forced,
        "reason": promotion.reason, "actor_id": promotion.actor_id,
        "created_at": promotion.created_at.isoformat(), "comparison": promotion.comparison,
    }  # fmt: skip


@model_app.command("promote")
def model_promote(
    model: ModelArg,
    release: Annotated[
        str | None, typer.Option(help="test split of this release [default: the one it trained on]")
    ] = None,
    force: Annotated[bool, typer.Option(help="promote even if the gate refuses")] = False,
    reason: Annotated[str | None, typer.Option(help="why (needed with --force)")] = None,
    footage: Annotated[
        list[Path] | None,
        typer.Option(help="more real normal footage (besides the test media and gathered footage)"),
    ] = None,
    exam_clips: Annotated[int, typer.Option(help="held-out-style scenes to render")] = 24,
) -> None:
    """Make a model the served one if it is no worse than the current one (the gate:
    release test split, held-out style, real normal footage); exit code 1 on refusal."""
    import functools

    from vidonate.detect.pipeline import gathered_camera_footage
    from vidonate.detect.promotion import (
        GateCheck,
        GateReport,
        PromotionGate,
        PromotionRefused,
        promote,
        render_exam_clips,
    )
    from vidonate.ingest.samples import test_media_dir

    rt = runtime_or_exit()
    folders = tuple(p for p in (test_media_dir(), *(footage or ())) if p is not None)
    gathered = tuple(gathered_camera_footage())
    try:
        with stage_progress("promote") as update:
            gate = PromotionGate(
                rt.pipeline(), functools.partial(render_exam_clips, count=exam_clips),
                footage_dirs=folders, footage_files=gathered, progress=update,
            )  # fmt: skip
            done = promote(gate, model, release=release, force=force, reason=reason)
            shown = _promotion_dict(done)
    except PromotionRefused as refused:
        _print_gate(refused.report)
        err.print(f"[red]refused[/] (reason: {refused.code}): the served model stays")
        raise typer.Exit(1) from None
    except VidonateError as exc:
        fail(exc)
    comparison = shown["comparison"]
    checks = tuple(GateCheck(**c) for c in comparison.get("checks", []))
    _print_gate(GateReport(shown["model"], comparison.get("current"), checks, comparison["note"]))
    console.print(
        f"model {shown['model']} is now served (promotion {shown['id']}"
        f"{', forced: ' + str(shown['reason']) if shown['forced'] else ''})"
    )


def _print_gate(report: GateReport) -> None:
    if report.note:
        console.print(report.note)
    table = Table("check", f"current ({report.current_id})", f"candidate ({report.candidate_id})",
                  "rule", "verdict")  # fmt: skip
    for check in report.checks:
        table.add_row(
            check.name, _number(check.current), _number(check.candidate), check.rule,
            check.verdict,
        )  # fmt: skip
    if report.checks:
        console.print(table)


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


@model_app.command("promotions")
def model_promotions() -> None:
    """Every promotion, oldest first."""
    from vidonate.detect.promotion import promotions

    table = Table("id", "model", "replaced", "forced", "reason", "gate", "when")
    with transaction(runtime_or_exit().sessions) as session:
        for p in promotions(session):
            table.add_row(
                str(p.id), str(p.model_id), str(p.previous_model_id or "–"),
                "yes" if p.forced else "", p.reason or "",
                "passed" if p.comparison.get("passed") else "refused",
                p.created_at.strftime("%Y-%m-%d %H:%M"),
            )  # fmt: skip
    console.print(table)


@model_app.command("export")
def model_export(
    model: ModelArg,
    dest: Annotated[Path, typer.Argument(help="the directory to write")],
    force: Annotated[bool, typer.Option(help="write into a non-empty directory")] = False,
) -> None:
    """Write a self-contained model directory: model.onnx, model.json, MODEL_CARD.md."""
    from vidonate.db.models import DetectorModel
    from vidonate.detect.model_card import export_model
    from vidonate.detect.pipeline import cached_registered

    rt = runtime_or_exit()
    try:
        found, files = cached_registered(rt.pipeline(), None if model == "served" else model)
        with transaction(rt.sessions) as session:
            stored = session.get(DetectorModel, found.id)
            assert stored is not None
            export_model(session, stored, files, dest, force=force)
    except VidonateError as exc:
        fail(exc)
    console.print(f"model {found.id} exported to {dest} (model.onnx, model.json, MODEL_CARD.md)")


# ------------------------------------------------------------------- vidonate detect


def video_files(paths: list[Path]) -> list[Path]:
    """The files named, and the videos found in the folders named (recursively: a file
    whose extension is a video one, or whose first bytes are a video container's)."""
    from vidonate.detect.pipeline import VIDEO_SUFFIXES
    from vidonate.ingest.sniff import SNIFF_BYTES, container_of

    found: list[Path] = []
    for path in paths:
        if not path.is_dir():
            found.append(path)  # a missing or bad file gets its own error line
            continue
        for candidate in sorted(p for p in path.rglob("*") if p.is_file()):
            if candidate.suffix.lower() in VIDEO_SUFFIXES:
                found.append(candidate)
            else:
                with candidate.open("rb") as f:
                    if container_of(f.read(SNIFF_BYTES)) is not None:
                        found.append(candidate)
    return found


def run_detect(
    paths: list[Path],
    model: str | None,
    *,
    as_array: bool,
    annotated_dir: Path | None,
    annotated_file: Path | None,
) -> None:
    """Score every video with one loaded model; one JSON object per clip (JSON Lines, or
    a single array with ``as_array``; one indented object for a single file, as before).
    A clip that fails gets an error object and the run goes on; exit code 1 if any did."""
    from vidonate.detect.pipeline import load_detector

    videos = video_files(paths)
    if not videos:
        err.print("no video files found in " + ", ".join(str(p) for p in paths))
        raise typer.Exit(2)
    single = len(paths) == 1 and not paths[0].is_dir() and not as_array
    try:
        found, detector = load_detector(runtime_or_exit().pipeline(), model)
    except VidonateError as exc:
        fail(exc)
    if annotated_dir is not None:
        annotated_dir.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []
    failed = 0
    with stage_progress("detect") as update:
        for done, video in enumerate(videos, 1):
            # One file named alone is printed by its name, as before the batch form.
            label = video.name if single else str(video)
            annotated = annotated_file or (
                annotated_dir / f"{video.stem}.annotated.mp4" if annotated_dir else None
            )
            record = _detect_one(detector, found.id, video, label, annotated)
            failed += "error" in record
            if as_array:
                records.append(record)
            elif single:
                typer.echo(json.dumps(record, indent=2))
            else:
                typer.echo(json.dumps(record))
            if len(videos) > 1:
                update("clips", done, len(videos))
    if as_array:
        typer.echo(json.dumps(records, indent=2))
    if annotated_file is not None and not failed:
        err.print(f"annotated video: {annotated_file}")
    if failed:
        print(f"detect: {failed} of {len(videos)} clips failed", file=sys.stderr)
        raise typer.Exit(1)


def _detect_one(
    detector: Detector, model_id: int, video: Path, label: str, annotated: Path | None
) -> dict[str, Any]:
    """One clip's record: its events, or an error with a reason code."""
    from vidonate.detect.pipeline import detect_with, events_record

    if not video.is_file():
        return _error(model_id, label, "no_such_file", f"{video} is not a file")
    try:
        events = detect_with(detector, video, annotated=annotated)
    except VidonateError as exc:
        return _error(model_id, label, exc.code, exc.message)
    except (OSError, ValueError) as exc:  # a decoder's or the file system's complaint
        return _error(model_id, label, "unreadable", f"the file cannot be decoded ({exc})")
    record = events_record(model_id, label, events)
    if annotated is not None:
        record["annotated"] = str(annotated)
    return record


def _error(model_id: int, video: str, code: str, message: str) -> dict[str, Any]:
    return {"model": model_id, "video": video, "error": {"code": code, "message": message}}
