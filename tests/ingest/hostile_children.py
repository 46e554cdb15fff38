"""What a sandbox child taken over by a hostile file could send its parent.

Imported by the child (the tests put this folder on its PYTHONPATH). Each function writes
straight to the child's answer pipe, whose descriptor is the child's first argument, and
ends the child at once, as code that took over the decoder would.
"""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path
from typing import Any


class _OpensOnLoad:
    """Unpickling this calls ``open(path, "w")``: the file appearing proves code ran."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.path, "w"))


def _answer(raw: bytes) -> None:
    os.write(int(sys.argv[1]), raw)
    os._exit(0)


def answer_with_pickle(marker: Path) -> int:
    """The answer the sandbox once expected (``("ok", value)`` pickled), with a payload."""
    _answer(pickle.dumps(("ok", _OpensOnLoad(marker))))
    return 0


def answer_with(raw: bytes) -> int:
    _answer(raw)
    return 0


def answer_too_much(size: int) -> int:
    fd = int(sys.argv[1])
    block = b"[" * (1 << 20)
    for _ in range(size // len(block) + 1):
        os.write(fd, block)
    os._exit(0)


def not_what_it_declares() -> int:
    return "forty-two"  # type: ignore[return-value]


def pickling_stage(settings: Path) -> Any:
    """A redaction stage factory that, once built in the child, answers with a pickle
    (given the marker's path where the real one is given its settings)."""
    return answer_with_pickle(settings)


def a_signature() -> Any:
    """A small frame-hash signature: arrays of several dtypes, as the audit sends back."""
    import numpy as np

    from vidonate.dedupe.phash import VideoSignature

    hashes = np.random.default_rng(1).integers(0, 256, (3, 32), dtype=np.uint8)
    return VideoSignature(
        hashes=hashes,
        inner=hashes[::-1].copy(),
        motion=hashes,
        motion_inner=hashes,
        moving=np.array([True, False, True]),
        times_s=np.array([0.0, 0.5, 1.0]),
        qualities=np.array([10, 20, 30], dtype=np.uint8),
        scales_s=np.array([1.0, 0.5, 0.25]),
        cutoff_s=0.1,
    )
