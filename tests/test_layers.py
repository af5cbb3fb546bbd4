"""The import layers of ``intergan``, read from the source: no module is imported.

Every module under ``src/intergan`` is parsed with ``ast``. Each ``import intergan.x``
and ``from intergan.x import y`` counts, at module level or inside a function (a
lazy import is still a dependency); imports under ``if TYPE_CHECKING:`` do not, as
they never run. Besides the layers, no import cycles, and a command module (one that
``intergan/cli.py`` registers) is imported by other command modules only.
docs/architecture.md ("Layers") shows the same table.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# layer -> its modules; a package name covers every module under it, and the longest
# name that matches decides (``intergan`` itself is the package's __init__ only)
LAYERS: dict[str, tuple[str, ...]] = {
    "base": (
        "intergan",
        "intergan.errors",
        "intergan.cli_args",
        "intergan.permissions",
        "intergan.files",
        "intergan.attributes",
        "intergan.images",
        "intergan.hardware",
        "intergan.precision",
        "intergan.config",
        "intergan.losses",
        "intergan.tensorboard",
    ),
    "data": ("intergan.data",),
    "data commands": ("intergan.data.prepare", "intergan.data.check", "intergan.data.synth_cli"),
    "models": ("intergan.models",),
    "training": ("intergan.training",),
    "evaluation": ("intergan.evaluation",),
    "editing": ("intergan.editing",),
    "bench": ("intergan.bench",),
    "app": ("intergan.app",),
    "commands": (
        "intergan.cli",
        "intergan.export_cli",
        "intergan.import_cli",
        "intergan.model_cli",
        "intergan.faces_cli",
        "intergan.faces_labels",
        "intergan.models_cli",
    ),
}

# layer -> the layers its modules may import (its own included)
MAY_IMPORT: dict[str, set[str]] = {
    "base": {"base"},
    "data": {"base", "data"},
    "models": {"base", "data", "models"},
    "data commands": {"base", "data", "data commands"},
    "training": {"base", "data", "models", "training"},
    "evaluation": {"base", "data", "models", "evaluation"},
    "editing": {"base", "models", "editing"},
    "bench": {"base", "data", "models", "training", "evaluation", "bench"},
    "app": {"base", "data", "models", "evaluation", "editing", "app"},
    "commands": {"base", "data", "models", "evaluation", "editing", "app", "commands"},
}

# (importer, imported) -> why it is still there. Each entry must still be needed.
EXCEPTIONS: dict[tuple[str, str], str] = {}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {module_name(p): p for p in sorted((SRC / "intergan").rglob("*.py"))}


def layer_of(module: str) -> str | None:
    best, found = -1, None
    for layer, names in LAYERS.items():
        for name in names:
            covers = module == name or (name != "intergan" and module.startswith(name + "."))
            if covers and len(name) > best:
                best, found = len(name), layer
    return found


def _type_checking_only(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that runs (not under ``if TYPE_CHECKING:``)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _type_checking_only(node):
            for other in node.orelse:
                yield from _imports(ast.Module(body=[other], type_ignores=[]))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        else:
            yield from _imports(node)


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The names an import statement in ``module`` loads, absolute."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = node.module or ""
    if node.level:  # relative: from the module's package
        package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
        parts = package.split(".")
        base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
    # ``from intergan.models import io`` loads the module intergan.models.io
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]


def _known(target: str) -> str:
    """The module of ``MODULES`` an import target loads (its longest known prefix)."""
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target


def import_graph() -> dict[str, dict[str, int]]:
    """module -> {imported intergan module: line of the first such import}."""
    graph: dict[str, dict[str, int]] = {}
    for module, path in MODULES.items():
        edges = graph.setdefault(module, {})
        for node in _imports(ast.parse(path.read_text(), str(path))):
            for target in _targets(module, node):
                imported = _known(target) if target.split(".")[0] == "intergan" else ""
                if imported and imported != module:
                    edges.setdefault(imported, node.lineno)
    return graph


GRAPH = import_graph()


def where(module: str, imported: str) -> str:
    return f"{MODULES[module].relative_to(SRC.parent)}:{GRAPH[module][imported]}"


def test_every_module_has_a_layer():
    missing = [m for m in MODULES if layer_of(m) is None]
    assert not missing, f"add these modules to LAYERS in {Path(__file__).name}: {missing}"


def test_layers_import_only_the_layers_below_them():
    bad = []
    for module, edges in GRAPH.items():
        layer = layer_of(module)
        for imported in edges:
            other = layer_of(imported)
            if other in MAY_IMPORT[layer] or (module, imported) in EXCEPTIONS:
                continue
            bad.append(
                f"{where(module, imported)}: {module} ({layer}) imports {imported} ({other}); "
                f"{layer} may import only {', '.join(sorted(MAY_IMPORT[layer]))}"
            )
    assert not bad, "imports against the layers:\n" + "\n".join(bad)


def test_every_exception_is_still_needed():
    stale = [f"{a} -> {b}" for a, b in EXCEPTIONS if b not in GRAPH.get(a, {})]
    assert not stale, f"remove from EXCEPTIONS (the import is gone): {stale}"


def test_only_training_and_bench_import_training():
    allowed = {layer for layer, may in MAY_IMPORT.items() if "training" in may}
    assert allowed == {"training", "bench"}


@pytest.mark.parametrize("low", ["base", "models"])
def test_the_low_layers_import_no_higher_layer(low):
    high = {"training", "evaluation", "editing", "app", "bench", "data commands", "commands"}
    assert not MAY_IMPORT[low] & high


def command_modules() -> set[str]:
    """The modules ``intergan.cli`` registers in ``COMMANDS`` (read from its source)."""
    tree = ast.parse(MODULES["intergan.cli"].read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "COMMANDS":
            return {module for module, _help in ast.literal_eval(node.value).values()}
    raise AssertionError("intergan/cli.py has no COMMANDS table")


def test_only_commands_import_command_modules():
    commands = command_modules() | {"intergan.cli"}
    assert commands <= set(MODULES), f"unknown modules in COMMANDS: {commands - set(MODULES)}"
    bad = [
        f"{where(module, imported)}: {module} imports the command module {imported}; "
        "move what it needs out of the command module"
        for module, edges in GRAPH.items()
        for imported in edges
        if imported in commands and module not in commands
    ]
    assert not bad, "\n".join(bad)


def _cycle_from(start: str) -> list[str] | None:
    """A shortest import cycle through ``start``, as a module list, or None."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        module = queue.pop(0)
        for imported in GRAPH[module]:
            if imported == start:
                return paths[module] + [start]
            if imported not in paths:
                paths[imported] = paths[module] + [imported]
                queue.append(imported)
    return None


def test_no_import_cycles():
    found, seen = [], set()
    for module in GRAPH:
        cycle = _cycle_from(module)
        if cycle and frozenset(cycle) not in seen:
            seen.add(frozenset(cycle))
            steps = [f"{a} -> {b} ({where(a, b)})" for a, b in zip(cycle, cycle[1:])]
            found.append("\n  ".join(steps))
    assert not found, "import cycles:\n  " + "\n\n  ".join(found)
