"""Documentation that cannot drift: every reason code raised in the code is listed in
docs/reason-codes.md, and the README starts with the two commands."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from vidonate.rewards import ledger

ROOT = Path(__file__).resolve().parents[1]
ERROR_CLASSES = {
    "VidonateError",
    "InvalidInput",
    "NotAuthenticated",
    "Forbidden",
    "NotFound",
    "Conflict",
    "Gone",
    "PayloadTooLarge",
    "UnsupportedMedia",
    "MethodNotAllowed",
    "ChecksumMismatch",
    "PreconditionFailed",
    "UnsupportedContentType",
    "InvalidRequest",
    "RangeNotSatisfiable",
    "TooManyRequests",
}


def raised_codes() -> set[str]:
    codes = set()
    for path in (ROOT / "src" / "vidonate").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ERROR_CLASSES
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                codes.add(node.args[0].value)
            # failure reasons stored on donations: transition(..., reason="...")
            for kw in getattr(node, "keywords", []) or []:
                if kw.arg == "reason" and isinstance(kw.value, ast.Constant):
                    codes.add(kw.value.value)
    return codes


def test_every_raised_reason_code_is_documented() -> None:
    documented = set(
        re.findall(r"`([a-z][a-z0-9_]+)`", (ROOT / "docs" / "reason-codes.md").read_text())
    )
    codes = raised_codes() | {
        ledger.UNPAID_CAMERA_CAP,
        ledger.UNPAID_BUDGET,
        ledger.UNPAID_NO_REWARD,
        "processing_error",
    }
    assert len(codes) > 40
    assert codes - documented == set()


def test_readme_begins_with_the_two_commands() -> None:
    head = (ROOT / "README.md").read_text().splitlines()[:8]
    assert any(line.startswith("make run") for line in head)
    assert any(line.startswith("make test") for line in head)
