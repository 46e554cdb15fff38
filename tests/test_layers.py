"""Layering: domain code takes a session and explicit collaborators, never the whole Runtime.

Only the wiring may import ``vidonate.runtime``: the Runtime itself, what starts it (the
server, the commands, the demo) and the web layer, which pulls collaborators off it and
hands them to the domain functions. A domain module that imported it, even for a type
hint only, could reach for any collaborator and would hide what it really depends on.
"""

from __future__ import annotations

import ast
from pathlib import Path

import vidonate

SRC = Path(vidonate.__file__).parent
RUNTIME = "vidonate.runtime"

# The modules that wire (relative to src/vidonate), and the packages all of whose
# modules may: the web layer is thin by design.
WIRING_MODULES = frozenset(
    {
        "runtime.py",
        "server.py",
        "demo.py",
        "cli.py",
        "cli_common.py",
        "cli_donor.py",
        "cli_server.py",
        "cli_tokens.py",
    }
)
WIRING_PACKAGES = ("web/",)


def _imports_runtime(tree: ast.AST) -> bool:
    """Whether the module imports vidonate.runtime anywhere: at the top, inside a
    function, or under TYPE_CHECKING (ast.walk visits every one of them)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            if any(a.name == RUNTIME or a.name.startswith(f"{RUNTIME}.") for a in node.names):
                return True
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == RUNTIME or node.module.startswith(f"{RUNTIME}."):
                return True
            if node.module == "vidonate" and any(a.name == "runtime" for a in node.names):
                return True
    return False


def _is_wiring(relative: str) -> bool:
    return relative in WIRING_MODULES or relative.startswith(WIRING_PACKAGES)


def test_only_the_wiring_imports_the_runtime() -> None:
    offenders = sorted(
        relative
        for path in SRC.rglob("*.py")
        if not _is_wiring(relative := path.relative_to(SRC).as_posix())
        and _imports_runtime(ast.parse(path.read_text(), filename=str(path)))
    )
    assert offenders == [], (
        f"{offenders} import {RUNTIME}: pass the collaborators they use instead "
        "(see ingest/process.py's Processing, donations/withdrawal.py)"
    )


def test_the_wiring_list_names_modules_that_exist() -> None:
    # A module renamed or removed must leave the list, or the list grows stale exceptions.
    missing = sorted(m for m in WIRING_MODULES if not (SRC / m).is_file())
    missing += [p for p in WIRING_PACKAGES if not (SRC / p).is_dir()]
    assert missing == []


def test_the_check_sees_an_import_under_type_checking() -> None:
    hidden = "if TYPE_CHECKING:\n    from vidonate.runtime import Runtime\n"
    assert _imports_runtime(ast.parse(hidden))
    assert _imports_runtime(ast.parse("def f():\n    import vidonate.runtime\n"))
    assert _imports_runtime(ast.parse("from vidonate import runtime\n"))
    assert not _imports_runtime(ast.parse("from jinja2.runtime import Context\n"))
