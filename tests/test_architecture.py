"""The shape of the package: no import circles, no upward imports, small modules (counted in
logical lines, so the formatter's wrapping neither hides nor inflates a size).

The graph is read with `ast` from the source (imports inside functions count too), so a
circle hidden in a function body fails here as well as one at module level.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "vemo"

# The floors of the data flow: a module may import its own floor (inside its own package) or lower.
FLOORS = {
    "vemo": 0,
    "vemo.errors": 0,
    "vemo.classes": 0,
    "vemo.io": 0,
    "vemo.engine": 0,
    "vemo.faces": 1,
    "vemo.models": 1,
    "vemo.weights": 2,
    "vemo.extraction": 3,
    "vemo.synth": 3,
    "vemo.labelling": 4,
    "vemo.training": 5,
    "vemo.evaluation": 6,
    "vemo.experiment": 7,
    "vemo.prediction": 7,
    "vemo.demo": 8,
    "vemo.live": 8,
    "vemo.scoring": 8,
    "vemo.view": 8,
    "vemo.cli": 9,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(name: str) -> set[str]:
    """The vemo modules `name` imports: `from vemo.a import b` names vemo.a.b when that is a module."""
    tree = ast.parse(MODULES[name].read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("vemo")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vemo") and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in MODULES else node.module)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: imports_of(name) for name in MODULES}


def floor(name: str) -> tuple[str, int]:
    """(the area a module belongs to, its floor)."""
    if name == "vemo.__main__":  # `python -m vemo` is the command line
        return "vemo.cli", FLOORS["vemo.cli"]
    for prefix in sorted(FLOORS, key=len, reverse=True):
        if name == prefix or name.startswith(prefix + "."):
            return prefix, FLOORS[prefix]
    raise AssertionError(f"{name} is on no floor: add its package to FLOORS")


def test_every_module_has_a_floor():
    for name in MODULES:
        floor(name)


def test_no_import_circle():
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for target in sorted(GRAPH[node]):
            if state.get(target) == 1:
                cycle = path[path.index(target) :] + [target]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[node] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name)


def test_no_module_imports_a_higher_floor_or_a_sibling_area():
    wrong = []
    for name, targets in GRAPH.items():
        area, level = floor(name)
        for target in targets:
            target_area, target_level = floor(target)
            if target_level > level or (target_level == level and target_area != area and level > 0):
                wrong.append(f"{name} ({area}, floor {level}) imports {target} ({target_area}, floor {target_level})")
    assert not wrong, "\n".join(wrong)


def reach(start: str) -> set[str]:
    """Every vemo module `start` imports, directly or through others."""
    seen, todo = set(), [start]
    while todo:
        for target in GRAPH[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_prediction_needs_nothing_from_training_or_extraction():
    for name in [m for m in MODULES if m.startswith("vemo.prediction")]:
        forbidden = sorted(m for m in reach(name) if floor(m)[0] in ("vemo.training", "vemo.extraction"))
        assert not forbidden, f"{name} reaches {forbidden}"


def test_the_viewer_and_its_report_need_neither_experiments_nor_training():
    """`vemo view` and `vemo report` start without the training stack (tests/view/test_without_torch.py
    shows the process side; this keeps the imports from creeping back)."""
    for name in [m for m in MODULES if m.startswith("vemo.view")]:
        forbidden = sorted(m for m in reach(name) if floor(m)[0] in ("vemo.experiment", "vemo.training"))
        assert not forbidden, f"{name} reaches {forbidden}"


def test_the_library_never_imports_the_cli():
    for name, targets in GRAPH.items():
        if not name.startswith(("vemo.cli", "vemo.__main__")):
            assert not any(t.startswith("vemo.cli") for t in targets), name


LONG_OK = "# long on purpose:"  # a function may be longer when its first lines say why
MAX_FUNCTION_LINES, MAX_MODULE_LINES = 50, 260  # logical lines


def logical_lines(text: str, first: int, last: int) -> int:
    """Statements (Python's logical lines, however the formatter wraps them) and comments that
    start within lines `first`..`last`: a size that ruff format's layout does not change."""
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return sum(1 for token in tokens if first <= token.start[0] <= last and token.type in (tokenize.NEWLINE, tokenize.COMMENT))


def test_modules_and_functions_stay_small():
    too_long = []
    for name, path in MODULES.items():
        text = path.read_text()
        lines = logical_lines(text, 1, text.count("\n") + 1)
        if lines > MAX_MODULE_LINES:
            too_long.append(f"{name}: {lines} logical lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = logical_lines(text, node.lineno, node.end_lineno or node.lineno)
                body = "\n".join(text.splitlines()[node.lineno - 1 : node.lineno + 8])
                if length > MAX_FUNCTION_LINES and LONG_OK not in body:
                    too_long.append(f"{name}.{node.name}: {length} logical lines")
    assert not too_long, "\n".join(too_long)


def test_the_model_string_is_read_in_one_module():
    """`--model` (a run folder, pretrained:NAME or FILE.onnx) is parsed by vemo.prediction.reference
    alone: no other module tells the kinds apart by the text."""
    telling = re.compile(r"""startswith\(\s*["']pretrained:|endswith\(\s*["']\.onnx["']\s*\)|["']pretrained:["']""")
    found = [name for name, path in MODULES.items() if name != "vemo.prediction.reference" and telling.search(path.read_text())]
    assert not found, found


# what the loader puts together: no other module of the prediction side may call these
LOADER = "vemo.prediction.loader"
LOADING_PIECES = {"cached_network", "exported_network", "open_model_file", "load_run", "load_pretrained", "prepare_network"}
PREDICTION_SIDE = ("vemo.prediction", "vemo.live", "vemo.view", "vemo.cli", "vemo.demo")


def test_models_are_loaded_for_prediction_by_the_loader_alone():
    """`load_predictor` is the one way to load a model for prediction: no other module of the
    prediction side imports the pieces it puts together, or builds a Predictor itself."""
    found = []
    for name, path in MODULES.items():
        if name == LOADER or not name.startswith(PREDICTION_SIDE):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vemo"):
                found += [f"{name} imports {alias.name}" for alias in node.names if alias.name in LOADING_PIECES]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Predictor":
                found.append(f"{name} builds a Predictor")
    assert not found, found
