"""Draw detected events onto a clip: a label with its score while an event runs, and a
timeline bar along the bottom with every event and a playhead. Output is H.264 MP4 with
the same frames as the input (one out for each one in), for reviewers to see why the
detector fired.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vidonate.detect.evaluation import Event
from vidonate.ingest.inputs import open_upload

# RGB per event class; anything else is drawn grey.
COLOURS: dict[str, tuple[int, int, int]] = {
    "package_theft": (230, 60, 50),
    "car_door_tampering": (245, 170, 20),
}
_GREY = (160, 160, 160)
_DEFAULT_RATE = Fraction(10)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow built without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _timeline(width: int, height: int, duration: float, events: Sequence[Event]) -> np.ndarray:
    """The bar without its playhead: dark track, one coloured block per event."""
    bar = Image.new("RGB", (width, height), (30, 30, 30))
    draw = ImageDraw.Draw(bar)
    for event in events:
        left = int(width * event.start / duration)
        right = max(left + 1, int(width * event.end / duration))
        draw.rectangle([left, 2, right, height - 3], fill=COLOURS.get(event.label, _GREY))
    return np.asarray(bar)


def _label(
    image: Image.Image,
    events: Sequence[Event],
    font: ImageFont.ImageFont | ImageFont.FreeTypeFont,
) -> None:
    draw = ImageDraw.Draw(image)
    y: float = 6
    for event in events:
        text = f"{event.label.replace('_', ' ')}  {event.score:.2f}"
        box = draw.textbbox((8, y), text, font=font)
        draw.rectangle([box[0] - 4, box[1] - 3, box[2] + 4, box[3] + 3], fill=(0, 0, 0))
        draw.text((8, y), text, fill=COLOURS.get(event.label, _GREY), font=font)
        colour = COLOURS.get(event.label, _GREY)
        draw.rectangle([0, 0, image.width - 1, image.height - 1], outline=colour, width=4)
        y = box[3] + 8


def annotate(video: Path, events: Sequence[Event], out: Path, *, crf: int = 23) -> None:
    """Write ``video`` with ``events`` drawn on it to ``out`` (H.264 MP4)."""
    out = Path(out)
    try:
        _annotate(Path(video), list(events), out, crf)
    except BaseException:
        out.unlink(missing_ok=True)
        raise


def _annotate(video: Path, events: list[Event], out: Path, crf: int) -> None:
    with open_upload(video) as source:
        stream = source.streams.video[0]
        stream.thread_type = "AUTO"
        rate = Fraction(stream.average_rate) if stream.average_rate else _DEFAULT_RATE
        known = float(source.duration / 1_000_000) if source.duration else 0.0
        duration = max(known, max((e.end for e in events), default=0.0), 1e-3)
        width, height = stream.width - stream.width % 2, stream.height - stream.height % 2
        bar_height = max(8, height // 30)
        timeline = _timeline(width, bar_height, duration, events)
        font = _font(max(12, height // 24))
        with av.open(
            str(out), "w", format="mp4", container_options={"movflags": "+faststart"}
        ) as sink:
            encoded = sink.add_stream(
                "libx264", rate=rate, options={"crf": str(crf), "preset": "veryfast"}
            )
            encoded.width, encoded.height, encoded.pix_fmt = width, height, "yuv420p"
            encoded.codec_context.time_base = 1 / rate
            first: float | None = None
            for index, frame in enumerate(source.decode(stream)):
                at = frame.time if frame.time is not None else index / float(rate)
                first = at if first is None else first
                now = at - first
                image = frame.to_image(width=width, height=height)
                _label(image, [e for e in events if e.start <= now < e.end], font)
                pixels = np.array(image)
                pixels[-bar_height:] = timeline
                playhead = min(width - 1, int(width * now / duration))
                pixels[-bar_height:, max(0, playhead - 1) : playhead + 1] = 255
                picture = av.VideoFrame.from_ndarray(pixels, format="rgb24")
                picture.pts = index
                picture.time_base = encoded.codec_context.time_base
                sink.mux(encoded.encode(picture))
            sink.mux(encoded.encode())
