"""Staged-scene synthesizer: labelled, clearly marked synthetic clips of package theft,
car-door tampering, deliveries and passers-by, for tests, demos and the theft detector.

    clips = generate(Path("out"), 8, seed=1)          # two of each kind, plus manifest.json
    clip = render_clip(Path("out/synthetic-x.mp4"), "package_theft", seed=7)
    mixed = generate(Path("mix"), 40, seed=1, styles=TRAINING_STYLES)  # styles in turn
    again = load_clip(clip.sidecar)

See docs/synth.md for what is rendered, the variation, and how events are defined.
"""

from vidonate.synth.clip import KINDS, LABEL_OF_KIND, SynthClip, SynthEvent, load_clip
from vidonate.synth.generate import generate
from vidonate.synth.render import render_clip
from vidonate.synth.styles import ALL_STYLES, EXAM_STYLE, TRAINING_STYLES

__all__ = [
    "ALL_STYLES",
    "EXAM_STYLE",
    "KINDS",
    "LABEL_OF_KIND",
    "TRAINING_STYLES",
    "SynthClip",
    "SynthEvent",
    "generate",
    "load_clip",
    "render_clip",
]
