"""The jobs layer's wings import downwards only and hold no import cycle (docs/ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ORDER = ["foundation", "table", "coordination", "broker", "core", "plugins", "observe", "console", "front"]
FOUNDATION = {"jobs.conf", "jobs.crypto", "jobs.models", "jobs.telemetry", "jobs.runtime"}


def _wing(module: str) -> str:
    if module in FOUNDATION:
        return "foundation"
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ORDER else "front"


def _graph() -> dict[str, set[str]]:
    """Module-level imports between the layer's modules (not TYPE_CHECKING blocks)."""
    graph: dict[str, set[str]] = {}
    for path in (ROOT / "jobs").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        deps: set[str] = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("jobs"):
                for alias in node.names:
                    candidate = f"{node.module}.{alias.name}"
                    as_path = ROOT / candidate.replace(".", "/")
                    if as_path.with_suffix(".py").exists() or as_path.is_dir():
                        deps.add(candidate)
                    elif node.module != "jobs":
                        deps.add(node.module)
        graph[module] = deps - {module, "jobs"}
    return graph


def test_no_import_runs_up_a_wing():
    graph = _graph()
    up = [(m, d) for m, deps in graph.items() for d in deps if ORDER.index(_wing(d)) > ORDER.index(_wing(m))]
    assert up == []


def test_no_import_cycle_inside_the_layer():
    graph = _graph()

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for dep in graph.get(start, ()):
            if dep == target or (dep not in seen and (seen.add(dep) or reaches(dep, target, seen))):
                return True
        return False

    cyclic = sorted(m for m in graph if reaches(m, m, set()))
    assert cyclic == []
