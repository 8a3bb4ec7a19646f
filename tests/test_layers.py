"""Dependencies point one way (DESIGN.md §3): upper apps → bookings → services.

Every module under bookings/ (and services/) is parsed with `ast`, and each `import x` / `from x import y`
(relative imports resolved, imports inside functions and `if TYPE_CHECKING:` included) is checked against
the apps above it. The upper apps are every project app in INSTALLED_APPS other than these two, so a new
app is covered the day it is added.
"""

import ast
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def project_apps() -> set[str]:
    """The top-level packages of this project's own apps (those whose code lives in the repository)."""
    names = set()
    for config in apps.get_app_configs():
        path = Path(config.path).resolve()
        if ROOT in path.parents and ".venv" not in path.parts:
            names.add(config.name.split(".")[0])
    return names


def imported_modules(path: Path, *, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, dotted module) of every import in the file, relative ones resolved against its package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((node.lineno, module))
    return sorted(found)


def violations(app: str, forbidden: set[str], *, root: Path = ROOT) -> list[str]:
    problems = []
    for path in sorted((root / app).rglob("*.py")):
        for line, module in imported_modules(path, root=root):
            if module.split(".")[0] in forbidden:
                problems.append(f"{path.relative_to(root)}:{line} imports {module}")
    return problems


def test_the_project_apps_are_the_ones_the_layers_speak_of():
    assert {"bookings", "services", "desk", "employers", "api"} <= project_apps()


@pytest.mark.parametrize(
    ("app", "allowed_below"),
    [("bookings", {"services"}), ("services", set())],
)
def test_a_lower_app_imports_no_app_above_it(app, allowed_below):
    above = project_apps() - {app} - allowed_below
    assert "desk" in above and "employers" in above and "api" in above
    assert violations(app, above) == []


def test_the_check_sees_every_kind_of_import(tmp_path):
    """The parser is not fooled by relative, nested or aliased imports."""
    (tmp_path / "bookings" / "views").mkdir(parents=True)
    probe = tmp_path / "bookings" / "views" / "probe.py"
    probe.write_text(
        "import desk.selectors as s\n"
        "from employers import models\n"
        "from api.v1 import views\n"
        "def f():\n"
        "    from desk.permissions import is_desk_user\n"
        "from .. import models as own\n"
        "from ..actions import booking\n",
        encoding="utf-8",
    )
    found = violations("bookings", {"desk", "employers", "api", "bookings"}, root=tmp_path)
    assert [problem.split(" imports ")[1] for problem in found] == [
        "desk.selectors",
        "employers",
        "api.v1",
        "desk.permissions",
        "bookings",
        "bookings.actions",
    ]
