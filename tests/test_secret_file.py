"""Secret files (master key, cookie key, saved login) are private from their first byte."""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from vidonate import secret_file
from vidonate.client import load_credentials, save_credentials
from vidonate.config import Settings
from vidonate.crypto.keys import FileKeyProvider
from vidonate.secret_file import create_private_file, replace_private_file


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """umask 0: a file made with default permissions would be world-readable."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def placed_files(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, bytes]]:
    """Mode and content of every secret at the moment it is linked or renamed into place."""
    seen: list[tuple[int, bytes]] = []
    real_link, real_replace = os.link, os.replace

    def note(src: str | os.PathLike[str]) -> None:
        seen.append((mode(Path(src)), Path(src).read_bytes()))

    def link(src, dst, *args, **kwargs):  # type: ignore[no-untyped-def]
        note(src)
        return real_link(src, dst, *args, **kwargs)

    def replace(src, dst, *args, **kwargs):  # type: ignore[no-untyped-def]
        note(src)
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(secret_file.os, "link", link)
    monkeypatch.setattr(secret_file.os, "replace", replace)
    return seen


@pytest.mark.usefixtures("open_umask")
def test_the_cookie_key_is_created_private_and_complete_before_it_is_visible(
    tmp_path: Path, placed_files: list[tuple[int, bytes]]
) -> None:
    settings = Settings(var_dir=tmp_path / "var")
    key = settings.ensure_secret_key()
    path = tmp_path / "var" / "secret_key"
    assert mode(path) == 0o600
    assert placed_files == [(0o600, key.encode())]
    assert Settings(var_dir=tmp_path / "var").ensure_secret_key() == key  # made once
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret_key"]  # no temp left


@pytest.mark.usefixtures("open_umask")
def test_the_master_key_is_created_private_and_complete_before_it_is_visible(
    tmp_path: Path, placed_files: list[tuple[int, bytes]]
) -> None:
    path = tmp_path / "var" / "master.key"
    FileKeyProvider.load_or_create(path)
    assert mode(path) == 0o600
    assert placed_files == [(0o600, path.read_bytes())]
    assert len(placed_files[0][1]) == 32


@pytest.mark.usefixtures("open_umask")
def test_the_saved_login_is_private_also_when_it_replaces_a_readable_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, placed_files: list[tuple[int, bytes]]
) -> None:
    path = tmp_path / "config" / "credentials.json"
    monkeypatch.setenv("VIDONATE_CREDENTIALS", str(path))
    path.parent.mkdir()
    path.write_text("{}")
    path.chmod(0o644)
    assert save_credentials("http://127.0.0.1:8100", "tok-1") == path
    assert mode(path) == 0o600
    assert load_credentials() == {"server": "http://127.0.0.1:8100", "token": "tok-1"}
    assert [m for m, _ in placed_files] == [0o600]
    assert json.loads(placed_files[0][1])["token"] == "tok-1"


def test_processes_creating_a_secret_at_once_agree_on_one_complete_file(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def create(i: int) -> None:
        barrier.wait()
        results.append(create_private_file(path, bytes([i]) * 4096))

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]
    content = path.read_bytes()
    assert len(content) == 4096 and len(set(content)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["secret"]


def test_replacing_a_secret_swaps_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    replace_private_file(path, b"old")
    replace_private_file(path, b"new")
    assert path.read_bytes() == b"new" and mode(path) == 0o600
