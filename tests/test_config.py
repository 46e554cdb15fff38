"""Settings from the environment: a misspelled ``VIDONATE_`` variable stops start-up."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vidonate.config import (
    NON_SETTING_VARIABLES,
    UnknownSetting,
    check_environment,
    setting_variables,
)

REPO = Path(__file__).resolve().parents[1]


def test_a_misspelled_variable_is_refused_naming_the_closest_setting() -> None:
    with pytest.raises(
        UnknownSetting,
        match=r"VIDONATE_DATABSE_URL: did you mean "
        r"VIDONATE_DATABASE_URL\?",
    ):
        check_environment({"VIDONATE_DATABSE_URL": "sqlite:///x", "PATH": "/bin"})


def test_every_misspelling_is_named_and_lowercase_names_count_too() -> None:
    with pytest.raises(UnknownSetting) as caught:
        check_environment({"vidonate_tus_max_sizes": "1", "VIDONATE_REDACTON": "false"})
    message = str(caught.value)
    assert "vidonate_tus_max_sizes: did you mean VIDONATE_TUS_MAX_SIZE?" in message
    assert "VIDONATE_REDACTON: did you mean VIDONATE_REDACTION?" in message


def test_a_name_like_no_setting_points_to_the_documentation() -> None:
    with pytest.raises(UnknownSetting, match=r"VIDONATE_XYZZY: see Configuration in README\.md"):
        check_environment({"VIDONATE_XYZZY": "1"})


def test_every_setting_and_every_listed_non_setting_is_accepted() -> None:
    env = dict.fromkeys([*setting_variables(), *NON_SETTING_VARIABLES], "1")
    check_environment({**env, "HOME": "/root", "XVIDONATE_OTHER": "1"})


def test_every_vidonate_variable_the_repository_reads_is_a_setting_or_listed() -> None:
    """The allow-list is complete: a new variable in code, tests or CI must join it."""
    known = set(setting_variables()) | set(NON_SETTING_VARIABLES)
    found: dict[str, str] = {}
    files = [REPO / "Makefile", REPO / ".ci" / "run"]
    for folder in ("src", "tests", "bench"):
        files += (REPO / folder).rglob("*.py")
    # This file writes misspellings on purpose; nothing reads them.
    for path in (p for p in files if p != Path(__file__).resolve()):
        for name in re.findall(r"\bVIDONATE_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()):
            found.setdefault(name, str(path.relative_to(REPO)))
    unknown = {n: p for n, p in found.items() if n not in known}
    assert not unknown


@pytest.mark.parametrize("command", [["migrate"], ["serve", "--port", "1"]])
def test_serve_and_migrate_refuse_a_misspelled_variable_and_touch_nothing(
    command: list[str], tmp_path: Path
) -> None:
    var = tmp_path / "var"
    env = {
        **os.environ,
        "VIDONATE_VAR_DIR": str(var),
        "VIDONATE_DATABSE_URL": f"sqlite:///{tmp_path / 'meant.sqlite3'}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "vidonate.cli", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "did you mean VIDONATE_DATABASE_URL?" in done.stderr
    assert not var.exists()  # no database migrated, no key made
