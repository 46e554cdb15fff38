"""Camera motion measured between frames: a pan is a shift, a zoom a scale, and a box
carried with it lands where the scene under it went."""

from __future__ import annotations

import av
import numpy as np

from camera_clips import camera, text_still
from vidonate.ingest.motion import GlobalMotion, warp_boxes


def _frames(start: tuple[float, ...], end: tuple[float, ...], count: int) -> list[av.VideoFrame]:
    shots = camera(text_still(), (320, 240), start, end, count)  # type: ignore[arg-type]
    return [
        av.VideoFrame.from_ndarray(view, format="rgb24").reformat(format="yuv420p")
        for view, _ in shots
    ]


def test_a_pan_is_measured_as_the_shift_of_the_scene() -> None:
    # The window moves 24 px right and 12 px down the still a frame, shown at 1:2: the
    # scene moves 12 px left and 6 px up a frame.
    motion = GlobalMotion()
    for index, frame in enumerate(_frames((40, 60, 640, 480), (136, 108, 640, 480), 5)):
        motion.add(index, frame)
    box = np.array([[100.0, 100.0, 140.0, 120.0]], np.float32)
    moved = warp_boxes(box, motion.between(0, 4))
    np.testing.assert_allclose(moved, [[52, 76, 92, 96]], atol=1.0)
    back = warp_boxes(moved, motion.between(4, 0))
    np.testing.assert_allclose(back, box, atol=0.5)


def test_a_zoom_is_measured_as_a_scale_about_the_centre() -> None:
    # From a 640-wide window to a 480-wide one around the same centre: 4/3 larger.
    motion = GlobalMotion()
    for index, frame in enumerate(_frames((160, 120, 640, 480), (240, 180, 480, 360), 5)):
        motion.add(index, frame)
    box = np.array([[150.0, 110.0, 170.0, 130.0]], np.float32)  # around the centre
    moved = warp_boxes(box, motion.between(0, 4))[0]
    assert abs((moved[2] - moved[0]) / 20 - 4 / 3) < 0.05, moved
    assert abs((moved[0] + moved[2]) / 2 - 160) < 1.5, moved


def test_a_still_camera_leaves_boxes_where_they_are() -> None:
    motion = GlobalMotion()
    for index, frame in enumerate(_frames((40, 60, 640, 480), (40, 60, 640, 480), 3)):
        motion.add(index, frame)
    box = np.array([[10.0, 20.0, 30.0, 40.0]], np.float32)
    np.testing.assert_allclose(warp_boxes(box, motion.between(0, 2)), box, atol=0.2)
