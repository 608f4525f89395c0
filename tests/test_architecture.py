"""The package's layers (docs/architecture.md): no import cycle, and no module imports a layer above its own.

The imports of every module under ``spermtrack/`` are read with :mod:`ast` (nothing is
imported), both those at module level and those inside functions (lazy imports). Module-level
imports must form no cycle. The layer rule applies to both kinds: a module imports only its
own package, the layers below its own, and, in the foundation and application layers, its
neighbours in the same layer. A lazy import may close a cycle inside one package (it runs
after both modules are loaded), never between two packages.

A violation that must stay for a while is listed in :data:`KNOWN_VIOLATIONS` with the file
and the reason (empty today); a listed one that is fixed fails
:func:`test_known_violations_still_exist`, and a new one fails
:func:`test_no_module_imports_a_layer_above_its_own`.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "spermtrack"

#: Layer of each top-level module or package of ``spermtrack`` (the part after ``spermtrack.``;
#: ``""`` is ``spermtrack/__init__.py``, the facade). Lowest first; docs/architecture.md draws it.
LAYERS: dict[str, int] = {
    # 0 foundation: plain data types, errors and small utilities; import nothing above them
    "errors": 0,
    "_version": 0,
    "atomic": 0,
    "jsonutil": 0,
    "_threads": 0,  # one background-thread helper (issue 15, helper "config")
    "calibration": 0,
    "boxes": 0,
    "timebase": 0,
    "classes": 0,  # class-name mapping of detectors and adapters
    "interop": 0,  # Boxes <-> ultralytics, supervision, trackpy, TrackMate (io.adapters re-exports it)
    "algorithms": 0,  # shared assignment / IoU for track/ and evaluate/ (issue 15, helper "tracker")
    # 1 reading and writing files and frames
    "io": 1,
    # 2 the algorithms on boxes: siblings, none imports another
    "track": 2,
    "kinematics": 2,
    "evaluate": 2,
    # 3 what makes or draws frames and boxes: siblings, none imports another
    "detect": 3,
    "simulate": 3,
    "viz": 3,
    # 4 the analysis: one video or many, result folders, tools built on the layers below
    "analysis": 4,
    "pipeline": 4,
    "batch": 4,
    "results": 4,
    "clip": 4,
    "dataset_stats": 4,
    "jit_warmup": 4,
    # 5 the entry points: the command line and the package facade
    "cli": 5,
    "__main__": 5,
    "": 5,
}
#: Layers whose members may import each other (acyclically); in the others, siblings are independent.
SHARED_LAYERS = {0, 4, 5}

#: Upward or sideways imports present today, in code this change does not own:
#: (importing module, imported module) -> why it is wrong and who can fix it.
KNOWN_VIOLATIONS: dict[tuple[str, str], str] = {}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _targets(module: str, is_package: bool, node: ast.ImportFrom | ast.Import) -> list[str]:
    """The spermtrack modules an import statement loads (the package of a name that is not a module)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name == "spermtrack" or a.name.startswith("spermtrack.")]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target != "spermtrack" and not target.startswith("spermtrack."):
        return []
    return [f"{target}.{a.name}" if f"{target}.{a.name}" in MODULES else target for a in node.names]


def _with_parents(importer: str, target: str) -> set[str]:
    """``target`` and the packages Python initialises before it (those the importer is not inside)."""
    out = {target}
    parts = target.split(".")
    for k in range(2, len(parts)):  # never the facade "spermtrack": it is always loaded first
        parent = ".".join(parts[:k])
        if not (importer == parent or importer.startswith(parent + ".")):
            out.add(parent)
    return out


def _imports() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """``(module_level, lazy)``: each module's imports of other spermtrack modules."""
    top: dict[str, set[str]] = {m: set() for m in MODULES}
    lazy: dict[str, set[str]] = {m: set() for m in MODULES}

    def walk(module: str, is_package: bool, node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for t in _targets(module, is_package, child):
                    if t != module:
                        (lazy if in_function else top)[module] |= _with_parents(module, t)
            walk(module, is_package, child, inside)

    for m, path in MODULES.items():
        walk(m, path.name == "__init__.py", ast.parse(path.read_text(encoding="utf-8"), str(path)), False)
    for m in MODULES:
        lazy[m] -= top[m]
    return top, lazy


TOP, LAZY = _imports()


#: Top-level modules that form one unit with another for the cycle rule: the conversions of the
#: Boxes type to other tools live beside it, and ``Boxes.from_ultralytics`` and friends call them lazily.
UNITS = {"interop": "boxes", "classes": "boxes"}


def _group(module: str) -> str:
    """The top-level module or package a module belongs to (``""`` for the facade)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _unit(module: str) -> str:
    """The group of ``module`` for the cycle rule (:data:`UNITS` joins a type and its conversions)."""
    g = _group(module)
    return UNITS.get(g, g)


def _allowed(importer: str, imported: str) -> bool:
    a, b = _group(importer), _group(imported)
    if a == b:
        return True
    la, lb = LAYERS[a], LAYERS[b]
    return lb < la or (la == lb and la in SHARED_LAYERS)


def _violations() -> set[tuple[str, str]]:
    return {(m, t) for graph in (TOP, LAZY) for m, targets in graph.items() for t in targets if not _allowed(m, t)}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_import_reader_sees_what_python_does():
    # a module-level import, a lazy one, a parent package, a relative "from . import module"
    assert "spermtrack.errors" in TOP["spermtrack.boxes"]
    assert "spermtrack.io.sources" in LAZY["spermtrack.io.frames"] and "spermtrack.io.sources" not in TOP["spermtrack.io.frames"]
    assert {"spermtrack.io", "spermtrack.io.visem"} <= TOP["spermtrack.batch"]
    assert "spermtrack.io" not in TOP["spermtrack.io.visem"]  # a module inside io does not re-enter io/__init__
    assert "spermtrack._version" in TOP["spermtrack"]
    assert "spermtrack.detect.base" in TOP["spermtrack.detect.classical"]  # from .base import ...
    assert "spermtrack.simulate.dataset" in LAZY["spermtrack.simulate"]  # inside the module's __getattr__


def test_every_module_has_a_layer():
    missing = sorted({_group(m) for m in MODULES} - set(LAYERS))
    assert not missing, (
        f"spermtrack.{missing[0]} is in no layer: add it to LAYERS in tests/test_architecture.py "
        "and to the table of docs/architecture.md"
    )


def test_no_import_cycle_at_module_level():
    cycles = _cycles(TOP)
    assert not cycles, "modules that import each other at module level: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_io_frames_and_visem_do_not_import_each_other():
    for a, b in (("frames", "visem"), ("visem", "sources"), ("frames", "stack"), ("stack", "visem")):
        assert f"spermtrack.io.{b}" not in TOP[f"spermtrack.io.{a}"] | LAZY[f"spermtrack.io.{a}"], (a, b)
    assert "spermtrack.io.frames" in TOP["spermtrack.io.visem"] and "spermtrack.io.visem" in TOP["spermtrack.io.sources"]


def test_no_module_imports_a_layer_above_its_own():
    new = sorted(_violations() - set(KNOWN_VIOLATIONS))
    assert not new, "imports against the layers of docs/architecture.md: " + "; ".join(f"{a} -> {b}" for a, b in new)


def test_low_layers_import_nothing_above_them():
    """track/, kinematics/ and evaluate/ (and the foundation) never import the analysis, the CLI, detect, simulate or viz."""
    high = {"analysis", "pipeline", "batch", "cli", "viz", "detect", "simulate", "results", "clip", "dataset_stats", ""}
    for m in MODULES:
        if _group(m) in ("track", "kinematics", "evaluate") or LAYERS[_group(m)] == 0:
            bad = sorted(t for t in TOP[m] | LAZY[m] if _group(t) in high and (m, t) not in KNOWN_VIOLATIONS)
            assert not bad, f"{m} imports {bad}"


def test_known_violations_still_exist():
    """Each entry of KNOWN_VIOLATIONS still names a real import that breaks the layers (remove it once fixed)."""
    for (importer, imported), why in KNOWN_VIOLATIONS.items():
        assert importer in MODULES, f"{importer} no longer exists ({why})"
        assert imported in TOP[importer] | LAZY[importer] and not _allowed(importer, imported), (
            f"{importer} -> {imported} is fixed: remove it from KNOWN_VIOLATIONS"
        )


def test_no_cycle_between_packages_lazy_imports_included():
    """Lazy imports may close a cycle inside one package (io.frames hands out io.sources.open_frames under its
    old name), never between packages: today's ones all run through known violations."""
    between: dict[str, set[str]] = {}
    for graph in (TOP, LAZY):
        for m, targets in graph.items():
            for t in targets:
                if _unit(m) != _unit(t) and (m, t) not in KNOWN_VIOLATIONS:
                    between.setdefault(_unit(m), set()).add(_unit(t))
    cycles = _cycles(between)
    assert not cycles, "packages that import each other (lazy imports included): " + "; ".join(
        " <-> ".join(n or "spermtrack" for n in c) for c in cycles
    )


def test_docs_table_is_the_test_table():
    """docs/architecture.md's layer table lists every entry of LAYERS in its row."""
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == len(set(LAYERS.values()))
    for name, layer in LAYERS.items():
        if name in ("", "__main__"):
            continue
        row = next(r for r in rows if r.startswith(f"| {layer} "))
        cell = row.split("|")[2]
        assert f"`{name}`" in cell or f"`{name}/`" in cell, f"{name} (layer {layer}) is not in docs/architecture.md's row {layer}"
