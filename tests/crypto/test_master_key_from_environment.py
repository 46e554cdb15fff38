"""Every node of a deployment gets the same master key: from a file, or from the
environment (VIDONATE_MASTER_KEY, base64), without any file written."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from pydantic import SecretStr

from vidonate.config import Settings
from vidonate.db.models import Donation
from vidonate.runtime import Runtime
from world import World


def test_a_node_given_the_key_in_its_environment_reads_what_a_file_node_wrote(
    world: World, settings: Settings, tmp_path: Path
) -> None:
    donation_id = world.clip_in_review()
    with world.rt.sessions() as s:
        clip_key = world.rt.vault.clip_key(s, s.get_one(Donation, donation_id))
    assert settings.master_key_file is not None
    encoded = base64.b64encode(settings.master_key_file.read_bytes()).decode()
    other_var = tmp_path / "other-node"
    node = Runtime.from_settings(
        settings.model_copy(
            update={"var_dir": other_var, "master_key_file": None, "master_key": SecretStr(encoded)}
        )
    )
    try:
        with node.sessions() as s:
            assert node.vault.clip_key(s, s.get_one(Donation, donation_id)) == clip_key
    finally:
        node.close()
    assert not any(other_var.glob("**/master.key")), "no key file written on that node"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("not base64!", "not valid base64"),
        (base64.b64encode(b"short").decode(), "must be 32 bytes"),
    ],
)
def test_a_bad_master_key_in_the_environment_is_refused_with_the_reason(
    settings: Settings, value: str, says: str
) -> None:
    with pytest.raises(ValueError, match=says):
        Runtime.from_settings(settings.model_copy(update={"master_key": SecretStr(value)}))
