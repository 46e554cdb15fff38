"""A media child yields the CPU to the server: it runs at the configured niceness."""

from __future__ import annotations

import os

from vidonate.config import Settings
from vidonate.ingest.process import sandbox_limits
from vidonate.ingest.sandbox import SandboxLimits, run_sandboxed


def test_a_child_runs_at_the_niceness_its_limits_give() -> None:
    ours = os.nice(0)
    child = run_sandboxed(os.nice, 0, limits=SandboxLimits(nice=7, wall_seconds=30), returns=int)
    assert child == min(19, ours + 7)
    assert os.nice(0) == ours  # the parent keeps its priority


def test_processing_children_yield_by_default(settings: Settings) -> None:
    assert sandbox_limits(settings).nice == Settings.model_fields["sandbox_nice"].default > 0
