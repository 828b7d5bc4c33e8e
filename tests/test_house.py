"""The house drawn in docs/design.md is the house the imports build.

Every module and wing of robviz stands on one floor of the drawing, and every import it runs (at the
top of the module or inside a function) reaches a lower floor; imports for the type checker only
(under ``if TYPE_CHECKING:``) may name any floor.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "robviz"
WINGS = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}


def _floors() -> dict[str, int]:
    """Module or wing name -> floor, read from the drawing in docs/design.md."""
    text = (ROOT / "docs" / "design.md").read_text()
    drawing = text.split("## The house", 1)[1].split("```", 2)[1]
    floors, floor = {}, None
    for line in drawing.splitlines():
        number = re.match(r"\s*(\d+)\s", line)
        if number:
            floor = int(number.group(1))
        # names outside parentheses: the modules and wings; inside: what they hold
        for name in re.findall(r"(?<![\w(])(__main__|[a-z_]+/?)(?![^()]*\))", line):
            floors[name.rstrip("/")] = floor
    return floors


def _unit(path: Path) -> str:
    """The module or wing a file of the package belongs to."""
    first = path.relative_to(PACKAGE).parts[0]
    return first if first in WINGS else first.removesuffix(".py")


def _moved(path: Path) -> bool:
    """An old import path kept for one release (it calls ``checks.moved``)."""
    return "moved(" in path.read_text() and len(path.read_text().splitlines()) < 30


def _imports(path: Path) -> set[str]:
    """The robviz modules and wings ``path`` imports at run time."""
    package = list(path.relative_to(PACKAGE).parts[:-1])
    found = set()

    class Visitor(ast.NodeVisitor):
        def visit_If(self, node: ast.If) -> None:
            if "TYPE_CHECKING" not in ast.unparse(node.test):
                self.generic_visit(node)

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            if node.level:
                base = package[: len(package) - node.level + 1]
                parts = base + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == "robviz":
                parts = node.module.split(".")[1:]
            else:
                return
            found.update(parts[:1] or [a.name for a in node.names])

        def visit_Import(self, node: ast.Import) -> None:
            for alias in node.names:
                if alias.name.startswith("robviz."):
                    found.add(alias.name.split(".")[1])

    Visitor().visit(ast.parse(path.read_text()))
    return {name for name in found if name != "__init__"}


def test_every_import_reaches_a_lower_floor_of_the_drawing():
    floors = _floors()
    files = [p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE]
    units = {_unit(p) for p in files if not _moved(p)}
    assert units - set(floors) == set(), "modules missing from docs/design.md's drawing"
    upward = []
    for path in files:
        unit = _unit(path)
        if _moved(path):
            continue
        for target in _imports(path) - {unit}:
            target_path = PACKAGE / f"{target}.py"
            if target_path.exists() and _moved(target_path):
                upward.append(f"{path.relative_to(ROOT)} imports the old path robviz.{target}")
            elif floors.get(target, 0) >= floors[unit]:
                upward.append(
                    f"{path.relative_to(ROOT)} (floor {floors[unit]}) imports {target} "
                    f"(floor {floors.get(target)})"
                )
    assert upward == [], "\n".join(upward)


def test_the_reader_sees_the_imports_and_the_floors():
    """The check above passes vacuously if no import or no floor is read: both are read here."""
    floors = _floors()
    assert floors["checks"] == floors["runtime"] == 1 and floors["__main__"] == max(floors.values())
    assert floors["attacks"] < floors["train"] < floors["scale"] < floors["cli"]
    files = [p for p in PACKAGE.rglob("*.py") if not _moved(p)]
    edges = {(_unit(p), target) for p in files for target in _imports(p) - {_unit(p)}}
    # from .x at the top, from ..x inside a wing's function, from .x inside a function
    assert {("__main__", "cli"), ("exercises", "models"), ("adversarial", "exact")} <= edges
    # adversarial imports train and data under TYPE_CHECKING only: not run-time imports
    assert ("adversarial", "train") not in edges and ("adversarial", "data") not in edges
    assert len(edges) >= 50  # 95 when this was written
