"""Synthetic scenes enter releases as accepted clips, encrypted and marked synthetic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vidonate.datasets.release import create_release, manifest
from vidonate.datasets.synthetic import SYNTH_USERNAME, import_synthetic, sidecar_background
from vidonate.db.engine import transaction
from vidonate.db.models import Camera, Donation, User
from vidonate.synth import generate
from world import World


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> list:
    """Eight short scenes; with the shared footage, several share a background source."""
    return generate(tmp_path_factory.mktemp("synth"), 8, seed=11, seconds=(3.0, 3.0))


def test_imported_scenes_are_accepted_encrypted_and_marked(world: World, scenes: list) -> None:
    ids = import_synthetic(world.rt.sessions, world.rt.vault, world.rt.store, scenes)
    assert len(ids) == 8
    with transaction(world.rt.sessions) as s:
        synth = s.query(User).filter_by(username=SYNTH_USERNAME).one()
        for donation_id, scene in zip(ids, scenes, strict=True):
            d = s.get(Donation, donation_id)
            assert d is not None
            assert (d.status, d.synthetic, d.staged, d.donor_id) == (
                "accepted",
                True,
                True,
                synth.id,
            )
            assert d.category == scene.label
            assert d.events == [{"start": e.start, "end": e.end, "label": e.label}
                                for e in scene.events]  # fmt: skip
            assert d.wrapped_key is not None and d.unpaid_reason is None
    stored = world.rt.store.read(f"clips/{ids[0]}/video.mp4")
    assert scenes[0].path.read_bytes()[:4096] not in b"".join(stored), "encrypted at rest"
    assert world.plaintext(ids[0], f"clips/{ids[0]}/video.mp4") == scenes[0].path.read_bytes()

    with transaction(world.rt.sessions) as s:
        # One camera per background source, whatever part of it each clip shows.
        cameras = {s.get(Camera, s.get(Donation, i).camera_id).label for i in ids}
        sources = {sidecar_background(json.loads(c.sidecar.read_text())) for c in scenes}
        assert cameras == {f"synthetic: {source}" for source in sources}
        rows = manifest(s, create_release(s, seed=0))
    assert len(rows) == 8 and all(r["synthetic"] for r in rows)
    theft = [r for r in rows if r["label"] == "package_theft"]
    assert theft and all(r["events"] for r in theft)
    assert "| synthetic | staged | 8 |" in _datasheet(world)


def _datasheet(world: World) -> str:
    from vidonate.datasets.release import get_release

    with transaction(world.rt.sessions) as s:
        return get_release(s, "latest").datasheet


def test_the_cli_renders_and_imports_scenes(world: World, cli_env: Path) -> None:
    from typer.testing import CliRunner

    from vidonate.cli import app

    out = cli_env / "scenes"
    result = CliRunner().invoke(app, ["synth", "--out", str(out), "--n", "4", "--import"])
    assert result.exit_code == 0, result.output
    assert "imported 4 synthetic clips" in result.output
    assert len(list(out.glob("synthetic-*.mp4"))) == 4
    with transaction(world.rt.sessions) as s:
        assert s.query(Donation).filter_by(synthetic=True).count() == 4
