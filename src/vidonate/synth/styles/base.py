"""What a style is: a painter that draws one planned scene's places, props and person.

A style never changes the plan (layout, route, timing, events): the compositor asks its
painter for pixels only. Painters draw into the composed, frontal scene (before the
camera's warp), where the scene's coordinates hold.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from vidonate.synth.layout import Box, Car, Porch
from vidonate.synth.pose import Joints, PersonState, Point


class Painter(Protocol):
    """Draws one scene in one style (made per clip by the style's factory)."""

    # How far (in person heights) the drawn person may stick out of the skeleton's box:
    # the compositor redraws that much more around them each frame.
    margin: float

    def backdrop(self) -> tuple[np.ndarray, dict[str, object]]:
        """The scene's background (RGB, output size) and what the sidecar says of it."""
        ...

    def car(self, img: np.ndarray, car: Car) -> None: ...

    def porch(self, img: np.ndarray, porch: Porch, unit: float) -> None: ...

    def box_on_porch(self, img: np.ndarray, box: Box) -> None:
        """The box standing on the step, with whatever shadow the style gives it."""
        ...

    def person(
        self,
        img: np.ndarray,
        joints: Joints,
        state: PersonState,
        held: tuple[Box, Point] | None,
        seconds: float,
    ) -> None:
        """The person (and a box they carry) at `seconds` into the clip."""
        ...

    def record(self) -> dict[str, object]:
        """The style's own draws, for the sidecar."""
        ...
