"""Rendering styles: independent ways of drawing the same planned scene, so a detector
can be trained on some and tested on one it never saw.

    TRAINING_STYLES  the families used for training ("classic" first: the original look)
    EXAM_STYLE       one more family, never used for training by default
    ALL_STYLES       both

A style only changes pixels (people, boxes, cars, places, backgrounds) and, through its
default camera rig (:mod:`vidonate.synth.rig`), how the camera sees them; the scene's
plan, timing and events are the same whatever the style. See docs/synth.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vidonate.synth.scene import Scene
from vidonate.synth.styles.base import Painter
from vidonate.synth.styles.classic import ClassicPainter
from vidonate.synth.styles.cutout import CutoutPainter
from vidonate.synth.styles.mannequin import MannequinPainter
from vidonate.synth.styles.silhouette import SilhouettePainter
from vidonate.synth.styles.sketch import SketchPainter


@dataclass(frozen=True)
class Style:
    name: str
    painter: Callable[[Scene, Path | None], Painter]
    # Whether clips get camera variation unless the caller says: off only for "classic",
    # whose default is exactly the original clips.
    camera_rig: bool
    about: str


STYLES: dict[str, Style] = {
    style.name: style
    for style in (
        Style("classic", ClassicPainter, False, "the original look: filled figures, cardboard"),
        Style("sketch", SketchPainter, True, "ink outlines and stick figures on paper"),
        Style("silhouette", SilhouettePainter, True, "flat dark figures, bright bags, vans"),
        Style("cutout", CutoutPainter, True, "people cut from real footage, brick, photo cars"),
        Style("mannequin", MannequinPainter, True, "shaded artist's mannequins, bubble cars"),
    )
}
TRAINING_STYLES: tuple[str, ...] = ("classic", "sketch", "silhouette", "cutout")
EXAM_STYLE: str = "mannequin"
ALL_STYLES: tuple[str, ...] = (*TRAINING_STYLES, EXAM_STYLE)
# Names the command line accepts for a set of styles.
STYLE_SETS: dict[str, tuple[str, ...]] = {
    "all-training": TRAINING_STYLES,
    "all": ALL_STYLES,
}


def get_style(name: str) -> Style:
    """The style called `name`; a clear error naming the valid ones otherwise."""
    style = STYLES.get(name)
    if style is None:
        raise ValueError(f"unknown style {name!r}; styles are {', '.join(ALL_STYLES)}")
    return style


def expand_styles(names: Sequence[str]) -> tuple[str, ...]:
    """Style names with the sets (all-training, all) spelt out, each once, checked."""
    out: list[str] = []
    for name in names:
        for style in STYLE_SETS.get(name, (name,)):
            get_style(style)
            if style not in out:
                out.append(style)
    return tuple(out)


__all__ = [
    "ALL_STYLES",
    "EXAM_STYLE",
    "STYLES",
    "STYLE_SETS",
    "TRAINING_STYLES",
    "Style",
    "expand_styles",
    "get_style",
]
