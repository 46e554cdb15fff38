"""Promotion: a model becomes the served one only if it is no worse than the current one.

The gate scores the candidate and the model it would replace on the same clips, with the
evaluation code every report uses (:func:`~vidonate.detect.evaluation.evaluate`,
:func:`~vidonate.detect.evaluation.false_alarms`), on three sets:

1. the release's **test split** (the release the candidate trained on, unless another is
   named): clip macro-F1 and event recall;
2. **held-out style** clips: :data:`EXAM_CLIPS` scenes rendered afresh for each gate run
   with a seed no training run uses (:data:`EXAM_SEED`), both models on the same files;
3. **real normal footage** (the test-media folder and any folder given): every event on
   it is a false alarm, compared per hour.

The candidate passes when, on every check both models could be measured on, it is no
worse than the current model beyond :data:`TOLERANCE` (macro-F1 and recall ≥ current −
0.01; false alarms per hour ≤ current's, the footage being the same). A check neither
can be measured on (an empty test split, no footage) is shown as "not measured" and does
not decide. A refusal raises :class:`PromotionRefused` (``promotion_gate_failed``) with
every check and both numbers, and records nothing but a log line; ``force`` promotes
anyway, with a reason, and keeps the numbers.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vidonate.datasets.release import get_release
from vidonate.db.engine import transaction
from vidonate.db.models import DetectorModel, Release
from vidonate.db.models_detect import ModelPromotion
from vidonate.detect.dataset import LabelledVideo
from vidonate.detect.evaluation import ClipResult, evaluate, false_alarms
from vidonate.detect.infer import Detector
from vidonate.detect.lineage import get_model
from vidonate.detect.model_cache import cached_model_files
from vidonate.detect.pipeline import Pipeline, Progress, _clip_result, normal_videos
from vidonate.detect.serving import served_model_or_none
from vidonate.errors import Conflict, InvalidInput, VidonateError

log = logging.getLogger(__name__)

TOLERANCE = 0.01  # macro-F1 and event recall may drop this much (sampling noise, not skill)
EXAM_CLIPS = 24
EXAM_SEED = 424_242  # far from every seed training and the bench use (0..100)
EXAM_SECONDS = (6.0, 10.0)

ExamClips = Callable[[Path], Sequence[LabelledVideo]]  # renders labelled videos into a folder


def render_exam_clips(
    folder: Path, *, count: int = EXAM_CLIPS, seed: int = EXAM_SEED, workers: int = 1
) -> list[LabelledVideo]:
    """The held-out-style scenes of one gate run (the four kinds in turn), drawn in the
    synthesizer's exam style: a renderer no training run uses by default."""
    from vidonate.synth import generate
    from vidonate.synth.styles import EXAM_STYLE

    clips = generate(
        folder, count, seed=seed, seconds=EXAM_SECONDS, workers=workers, styles=(EXAM_STYLE,)
    )
    return [LabelledVideo.from_synth(c) for c in clips]


@dataclass(frozen=True)
class GateCheck:
    """One comparison: both models' number and whether the candidate holds up."""

    name: str
    current: float | None
    candidate: float | None
    rule: str
    verdict: str  # "pass", "fail", or "not measured"
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GateReport:
    candidate_id: int
    current_id: int | None
    checks: tuple[GateCheck, ...]
    note: str = ""  # why there is nothing to compare, where that is so

    @property
    def passed(self) -> bool:
        return all(check.verdict != "fail" for check in self.checks)

    def comparison(self) -> dict[str, Any]:
        """What a promotion stores: both models, every check, the rule."""
        return {
            "candidate": self.candidate_id,
            "current": self.current_id,
            "passed": self.passed,
            "tolerance": TOLERANCE,
            "note": self.note,
            "checks": [asdict(check) for check in self.checks],
        }

    def summary(self) -> str:
        return "; ".join(
            f"{c.name}: current {_number(c.current)}, candidate {_number(c.candidate)} "
            f"({c.verdict})"
            for c in self.checks
        )


class PromotionRefused(Conflict):
    """The gate found the candidate worse; ``report`` holds every check."""

    def __init__(self, report: GateReport) -> None:
        failed = [c for c in report.checks if c.verdict == "fail"]
        super().__init__(
            "promotion_gate_failed",
            f"model {report.candidate_id} is worse than the served model "
            f"{report.current_id} on {', '.join(c.name for c in failed)}: {report.summary()}",
        )
        self.report = report


@dataclass(frozen=True)
class PromotionGate:
    """What the gate reads: models and releases through ``pipeline``, held-out-style
    clips from ``exam_clips``, real normal footage from the videos in ``footage_dirs`` and
    from ``footage_files`` (each file once)."""

    pipeline: Pipeline
    exam_clips: ExamClips = render_exam_clips
    footage_dirs: tuple[Path, ...] = ()
    footage_files: tuple[Path, ...] = ()
    actor_id: int | None = None
    progress: Progress | None = None

    def run(
        self, candidate: DetectorModel, current: DetectorModel, release: int | None
    ) -> GateReport:
        """Score both models on the three sets and compare them."""
        models = (self._detector(current), self._detector(candidate))
        checks: list[GateCheck] = []
        test = self._release_test_split(models, release)
        checks += _quality_checks("release test split", test)
        with self.pipeline.scratch.job_dir("promotion-exam") as folder:
            videos = self.exam_clips(folder)
            exam = self._score(
                models, ((v.path, _row_of(v)) for v in videos), len(videos), "held-out style"
            )
        checks += _quality_checks("held-out style", exam)
        footage = normal_videos(self.footage_dirs, self.footage_files)
        real = self._score(models, ((v, None) for v in footage), len(footage), "real footage")
        checks.append(_false_alarm_check(real))
        return GateReport(candidate.id, current.id, tuple(checks))

    def _detector(self, model: DetectorModel) -> Detector:
        pipeline = self.pipeline
        return Detector.load(cached_model_files(pipeline.model_cache, pipeline.store, model))

    def _release_test_split(
        self, models: tuple[Detector, Detector], release: int | None
    ) -> tuple[list[ClipResult], list[ClipResult]]:
        if release is None:
            return [], []
        reader = self.pipeline.reader(release, actor_id=self.actor_id, splits=("test",))
        # Each decrypted clip exists only while the reader is at it: score it there.
        items = ((path, row) for row, path in reader)
        return self._score(models, items, len(reader.rows()), "release test split")

    def _score(
        self,
        models: tuple[Detector, Detector],
        items: Iterable[tuple[Path, dict[str, Any] | None]],
        total: int,
        stage: str,
    ) -> tuple[list[ClipResult], list[ClipResult]]:
        """Both models' results on the same clips (the current model's first)."""
        results: tuple[list[ClipResult], list[ClipResult]] = ([], [])
        for done, (path, row) in enumerate(items, 1):
            for detector, out in zip(models, results, strict=True):
                out.append(_clip_result(detector, path, row))
            if self.progress is not None:
                self.progress(f"gate: {stage}", done, total)
        return results


@dataclass(frozen=True)
class _Contest:
    """Who is compared, read in one short transaction (detached from it)."""

    candidate: DetectorModel
    current: DetectorModel | None
    release: int | None


def promote(
    gate: PromotionGate,
    candidate_ref: str | int,
    *,
    release: str | int | None = None,
    force: bool = False,
    reason: str | None = None,
    actor_id: int | None = None,
) -> ModelPromotion:
    """Make ``candidate_ref`` the served model if the gate passes (or ``force`` with a
    ``reason``); record the promotion with both models' numbers. Returns the record,
    detached.

    It takes the session factory (``gate.pipeline.sessions``), not a session: the gate
    runs for minutes and reads the release through the vault, which logs each read in
    its own transaction; an open write transaction around it would block that on SQLite.
    So it reads who competes, runs the gate with no transaction open, then records the
    promotion only if the served model is still the one it was compared with."""
    reason = (reason or "").strip() or None
    if force and reason is None:
        raise InvalidInput("force_needs_reason", "a forced promotion needs --reason TEXT")
    sessions = gate.pipeline.sessions
    with transaction(sessions) as session:
        contest = _contest(session, candidate_ref, release)
    candidate, current = contest.candidate, contest.current
    if current is None:
        report = GateReport(
            candidate.id, None, (), note="the only model: nothing to compare with, passes"
        )
    else:
        try:
            report = gate.run(candidate, current, contest.release)
        except VidonateError as exc:
            if not force:
                raise
            report = GateReport(candidate.id, current.id, (), note=f"gate not run: {exc}")
    if not report.passed and not force:
        log.warning("promotion of model %s refused: %s", candidate.id, report.summary())
        raise PromotionRefused(report)
    with transaction(sessions) as session:
        now = _contest(session, candidate.id, contest.release)
        if (now.current and now.current.id) != (current and current.id):
            raise Conflict(
                "served_model_changed",
                "the served model changed while the gate ran: promote again to compare "
                "with the new one",
            )
        record = ModelPromotion(
            model_id=candidate.id,
            previous_model_id=current.id if current is not None else None,
            forced=force,
            reason=reason,
            comparison={**report.comparison(), "release": contest.release},
            actor_id=actor_id,
        )
        session.add(record)
        session.flush()
        session.expunge(record)
    log.info("model %s promoted (forced=%s): %s", candidate.id, force, report.summary())
    return record


def _contest(session: Session, candidate_ref: str | int, release: str | int | None) -> _Contest:
    candidate = get_model(session, candidate_ref)
    promoted = session.scalar(
        select(ModelPromotion.model_id).order_by(ModelPromotion.id.desc()).limit(1)
    )
    if promoted == candidate.id:
        raise Conflict("model_already_served", f"model {candidate.id} is the served model already")
    current = _model_to_beat(session, candidate)
    if release is not None:
        version: int | None = get_release(session, release).version
    elif candidate.release_id is not None:
        trained_on = session.get(Release, candidate.release_id)
        version = trained_on.version if trained_on is not None else None
    else:
        version = None
    for model in (candidate, current):
        if model is not None:
            session.expunge(model)
    return _Contest(candidate, current, version)


def promotions(session: Session) -> list[ModelPromotion]:
    """Every promotion, oldest first."""
    return list(session.scalars(select(ModelPromotion).order_by(ModelPromotion.id)))


def _model_to_beat(session: Session, candidate: DetectorModel) -> DetectorModel | None:
    """The served model; where that is the candidate itself (none promoted yet, and it is
    the newest), the newest other model; None where the candidate is the only one."""
    served = served_model_or_none(session)
    if served is not None and served.id != candidate.id:
        return served
    return session.scalar(
        select(DetectorModel)
        .where(DetectorModel.id != candidate.id)
        .order_by(DetectorModel.id.desc())
        .limit(1)
    )


def _row_of(video: LabelledVideo) -> dict[str, Any]:
    """A rendered clip as a manifest row (its scripted events are the ground truth)."""
    return {
        "id": video.clip_id, "label": video.label, "staged": True, "synthetic": True,
        "events": [{"start": e.start, "end": e.end, "label": e.label} for e in video.events],
    }  # fmt: skip


def _quality_checks(
    where: str, results: tuple[list[ClipResult], list[ClipResult]]
) -> list[GateCheck]:
    current, candidate = (evaluate(r, resamples=0).headline() if r else {} for r in results)
    clips = {"clips": len(results[1])}
    return [
        _at_least(f"{where}: clip macro-F1", current.get("macro_f1"), candidate.get("macro_f1"),
                  clips),
        _at_least(f"{where}: event recall", current.get("event_recall"),
                  candidate.get("event_recall"), clips),
    ]  # fmt: skip


def _at_least(
    name: str, current: float | None, candidate: float | None, detail: dict[str, Any]
) -> GateCheck:
    rule = f"candidate ≥ current − {TOLERANCE}"
    if current is None or candidate is None:
        return GateCheck(name, current, candidate, rule, "not measured", detail)
    verdict = "pass" if candidate >= current - TOLERANCE - 1e-12 else "fail"
    return GateCheck(name, current, candidate, rule, verdict, detail)


def _false_alarm_check(results: tuple[list[ClipResult], list[ClipResult]]) -> GateCheck:
    name, rule = "real normal footage: false alarms per hour", "candidate ≤ current"
    if not results[1]:
        return GateCheck(name, None, None, rule, "not measured", {"clips": 0})
    current, candidate = (false_alarms(r) for r in results)
    detail = {"clips": candidate.clips, "hours": candidate.hours,
              "events": {"current": current.events, "candidate": candidate.events},
              "upper_per_hour": {"current": _finite(current.upper_per_hour),
                                 "candidate": _finite(candidate.upper_per_hour)}}  # fmt: skip
    verdict = "pass" if candidate.events <= current.events else "fail"
    return GateCheck(
        name, _finite(current.per_hour), _finite(candidate.per_hour), rule, verdict, detail
    )


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"
