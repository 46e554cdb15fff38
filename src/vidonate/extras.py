"""The optional parts of the install, and a clear refusal when a command needs one.

The base install serves, ingests and detects (onnxruntime runs the exported detector).
Training needs PyTorch and the ONNX exporter, the evaluation report draws its charts with
matplotlib: pyproject.toml's ``[train]`` and ``[report]`` extras. The modules that import
them are imported only by the commands that need them.
"""

from __future__ import annotations

import importlib.util

from vidonate.errors import VidonateError

# The modules each extra brings, as imported.
EXTRAS: dict[str, tuple[str, ...]] = {
    "train": ("torch", "onnx", "onnxscript"),
    "report": ("matplotlib",),
}


def missing(extra: str) -> list[str]:
    """The modules of ``extra`` that are not installed."""
    return [name for name in EXTRAS[extra] if importlib.util.find_spec(name) is None]


def require(extra: str, what: str) -> None:
    """Refuse ``what`` (a command, in words) when the ``extra`` it needs is not installed."""
    absent = missing(extra)
    if absent:
        raise VidonateError(
            "missing_extra",
            f"{what} needs the [{extra}] extra ({', '.join(absent)} not installed): "
            f"pip install -e '.[{extra}]'",
        )
