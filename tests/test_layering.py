"""mgclr's modules import one way: no cycles, no upward import, no reaching into another package's privates.

Every ``import`` of every module is read from its source (imports inside functions too), so a lazy import
that closes a cycle counts. The layers, lowest first:

    mgclr, mgclr._ext, mgclr._validation, mgclr._seeding, mgclr._files, mgclr.profiling   shared helpers
    mgclr.skeleton                                                          layouts and their graph
    mgclr.ops                                                               the kernels, their transforms
    mgclr.augment                                                           pipelines of transforms
    mgclr.models                                                            encoders, MoCo, the queue
    mgclr.data                                                              datasets, converters, timelines
    mgclr.viz                                                               pictures of data, views, timelines;
                                                                            the plotting base
    mgclr.train                                                             loops, checkpoints, evaluation plots
    mgclr.emotion                                                           timelines -> win/lose (train's checkpoints)
    mgclr.viz.examples                                                      the README's pictures (train + emotion)
    mgclr.cli                                                               the command

A module may sit above its package (mgclr.viz.examples): the longest name in LAYERS that covers a module gives its
layer, and the package's __init__ must then not import it (that import would point up).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path
from typing import Dict, List, Set

import pytest

import mgclr

LAYERS = {
    "mgclr": 0, "mgclr._ext": 0, "mgclr._validation": 0, "mgclr._seeding": 0, "mgclr._files": 0, "mgclr.profiling": 0,
    "mgclr.skeleton": 1, "mgclr.ops": 2, "mgclr.augment": 3, "mgclr.models": 4,
    "mgclr.data": 5, "mgclr.viz": 6, "mgclr.train": 7, "mgclr.emotion": 8, "mgclr.viz.examples": 9, "mgclr.cli": 10,
}
# private to users, shared inside mgclr
SHARED_PRIVATE = {"mgclr._ext", "mgclr._validation", "mgclr._seeding", "mgclr._files"}
ROOT = Path(mgclr.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, name: str) -> Set[str]:
    """Absolute names of the mgclr modules (or packages) this file imports, anywhere in it."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}  # `from pkg import submodule`
    return {m for m in found if m == "mgclr" or m.startswith("mgclr.")}


MODULES: Dict[str, Path] = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


@functools.cache  # parsed once: the parametrized tests below each ask for it
def _graph() -> Dict[str, Set[str]]:
    """module -> the mgclr modules that importing it executes directly: what it imports, and the __init__
    of every package above those that is not also above the importer (those are already running).
    Computed once per session and shared: callers must not change it."""
    graph = {}
    for name, path in MODULES.items():
        targets = set()
        for imported in _imports(path, name):
            while imported and imported not in MODULES:  # `from mgclr.ops import queue_infonce` -> mgclr.ops
                imported = imported.rpartition(".")[0]
            while imported and not (name == imported or name.startswith(imported + ".")):
                targets.add(imported)
                imported = imported.rpartition(".")[0]
        graph[name] = targets
    return graph


def _layer(name: str) -> int:
    best = max((prefix for prefix in LAYERS if name == prefix or name.startswith(prefix + ".")), key=len)
    return LAYERS[best]


def test_every_module_has_a_layer():
    unknown = [n for n in MODULES if n.count(".") >= 1 and n.split(".")[1] and
               not any(n == p or n.startswith(p + ".") for p in LAYERS if p != "mgclr")]
    assert not unknown, f"add these packages to LAYERS in {__file__}: {unknown}"


def test_no_import_cycles():
    graph = _graph()
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    cycles = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    assert not cycles, f"import cycles: {cycles}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_down(name):
    for target in _graph()[name]:
        if name.startswith(target + "."):
            continue  # a module may import its own package's __init__ (re-exports)
        assert _layer(target) <= _layer(name), f"{name} (layer {_layer(name)}) imports {target} ({_layer(target)})"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_reaching_into_other_packages_privates(name):
    for target in _graph()[name]:
        if target in SHARED_PRIVATE:
            continue
        parts = target.split(".")
        for depth, part in enumerate(parts[1:], start=1):
            owner = ".".join(parts[:depth])
            if part.startswith("_") and not (name == owner or name.startswith(owner + ".")):
                pytest.fail(f"{name} imports {target}, private to {owner}")


def test_the_graph_is_not_empty():
    graph = _graph()  # guards the tests above against a parser that finds nothing
    assert {"mgclr.ops", "mgclr.ops.augment", "mgclr.ops.transforms"} <= graph["mgclr.augment.pipeline"]
    assert "mgclr.skeleton" in graph["mgclr.ops.transforms"]
    assert "mgclr.data.timeline" in graph["mgclr.data.convert.imigue"]  # `from ..timeline import` from a subpackage
    assert {"mgclr.viz", "mgclr.viz.plots"} <= graph["mgclr.train.evaluate"]
