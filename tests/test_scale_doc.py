"""docs/scale.md, the scale-out worked on paper, exists and keeps its sections."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCALE = ROOT / "docs" / "scale.md"
SECTIONS = (
    "# Scale-out on paper",
    "## Inputs",
    "## Storage",
    "### What retention does",
    "## Ingest worker-hours",
    "## Database rows and sizes",
    "## Dedupe index memory",
    "## Review hours",
    "## The bottleneck, in order",
    "## What the cluster bench predicts for N machines",
)


def test_scale_doc_has_every_section() -> None:
    headings = {line.strip() for line in SCALE.read_text().splitlines() if line.startswith("#")}
    missing = [s for s in SECTIONS if not any(h.startswith(s) for h in headings)]
    assert missing == []


def test_scale_doc_quotes_the_ingest_and_cluster_benches() -> None:
    text = SCALE.read_text()
    assert "bench/ingest.py" in text
    assert "\ningest: vidonate " in text  # the bench's summary line, quoted verbatim
    cluster = text.split("## What the cluster bench predicts for N machines", 1)[1]
    assert "bench/cluster.py" in cluster and "\ncluster: processing " in cluster
    assert "TODO" not in text
