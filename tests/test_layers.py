"""The package's layering, read from the source: every import of a tomjerry module by another (imports
inside functions included: a local import hides a dependency from Python, not from the design) points
down the wing order, no import cycle exists, and tomjerry never imports streamlit.

The order (tomjerry/__init__.py and HELPERS.md), bottom first; a wing may import its own wing and the
wings below it, never one above it:
    the shared bottom (tomjerry/__init__.py, paths, atomic, quiet) < metrics < data < models < config
    < runs < inference < training < science < lab < the command-line face (cli, __main__)
"""

import ast
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tomjerry"

LAYERS = (
    ("tomjerry", "paths", "atomic", "quiet"),
    ("metrics",),
    ("data",),
    ("models",),
    ("config",),
    ("runs",),
    ("inference",),
    ("training",),
    ("science",),
    ("lab",),
    ("cli", "__main__"),
)
RANK = {wing: rank for rank, wings in enumerate(LAYERS) for wing in wings}


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name, e.g. tomjerry.models.files
    imported: str  # the tomjerry module it imports (a `from X import name` naming a module resolves to it)
    file: str  # the importer's file, relative to the package's parent folder
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line} ({self.importer} -> {self.imported})"


def module_names(package: Path) -> dict[str, Path]:
    """Every module of the package: dotted name -> file (a package's name for its __init__.py)."""
    names = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def imports_of(package: Path) -> list[Import]:
    """Every import of a package module by a package module, with its file and line."""
    modules = module_names(package)
    found = []
    for name, path in modules.items():
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: resolved against this module's package
                    base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
                for alias in node.names:
                    # `from tomjerry.runs import states` imports the module tomjerry.runs.states.
                    targets.append(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
            for target in targets:
                while target and target not in modules:  # `import a.b.c` of a name inside a module
                    target = target.rpartition(".")[0]
                if target and target != name:
                    found.append(Import(name, target, str(path.relative_to(package.parent)), node.lineno))
    return found


def wing(module: str) -> str:
    """tomjerry.data.splits -> data; tomjerry.config -> config; tomjerry -> tomjerry."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def upward(imports: list[Import], rank: dict[str, int] = RANK) -> list[Import]:
    return [i for i in imports if rank[wing(i.imported)] > rank[wing(i.importer)]]


def cycles(imports: list[Import]) -> list[list[Import]]:
    """One closed path of imports for each group of modules that import each other round in a
    cycle (Tarjan's strongly connected components, then a shortest way round inside each)."""
    graph: dict[str, dict[str, Import]] = {}
    for i in imports:
        graph.setdefault(i.importer, {}).setdefault(i.imported, i)
        graph.setdefault(i.imported, {})
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(set(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    found = []
    for group in groups:
        start = min(group)
        paths = {start: []}  # breadth-first inside the group, back to the start
        frontier = [start]
        way_round = None
        while frontier and way_round is None:
            next_frontier = []
            for v in frontier:
                for w, edge in sorted(graph[v].items()):
                    if w == start:
                        way_round = paths[v] + [edge]
                        break
                    if w in group and w not in paths:
                        paths[w] = paths[v] + [edge]
                        next_frontier.append(w)
                if way_round:
                    break
            frontier = next_frontier
        found.append(way_round)
    return found


def streamlit_imports(package: Path) -> list[str]:
    found = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            if any(name == "streamlit" or name.startswith("streamlit.") for name in names):
                found.append(f"{path.relative_to(package.parent)}:{node.lineno}")
    return found


def test_every_module_belongs_to_a_wing():
    unplaced = sorted({wing(name) for name in module_names(PACKAGE)} - set(RANK))
    assert not unplaced, f"tomjerry modules in no layer of tests/test_layers.py's LAYERS: {unplaced}"


def test_no_wing_imports_a_wing_above_it():
    wrong = upward(imports_of(PACKAGE))
    assert not wrong, "imports pointing up the wing order (a wing may import only wings below it):\n" + "\n".join(
        f"  {i}: {wing(i.importer)} may not import {wing(i.imported)}" for i in wrong
    )


def test_no_import_cycle():
    found = cycles(imports_of(PACKAGE))
    assert not found, "import cycles among tomjerry modules:\n" + "\n".join(
        "  " + " -> ".join(i.importer for i in way) + f" -> {way[0].importer}: " + "; ".join(str(i) for i in way)
        for way in found
    )


def test_tomjerry_never_imports_streamlit():
    found = streamlit_imports(PACKAGE)
    assert not found, f"tomjerry imports streamlit (the Streamlit face is app.py, ui.py and pages/): {found}"


def write_package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "tomjerry" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "tomjerry"


def test_the_checks_catch_an_upward_import_a_local_one_and_a_cycle(tmp_path):
    package = write_package(
        tmp_path,
        {
            "__init__.py": "",
            "paths.py": "",
            "data/__init__.py": "",
            "data/splits.py": "def f():\n    from tomjerry.runs import folder\n",  # local and upward
            "runs/__init__.py": "",
            "runs/folder.py": "import tomjerry.runs.status\n",
            "runs/status.py": "from tomjerry.runs.folder import RunFolder\nfrom tomjerry import paths\n",
            "science/__init__.py": "",
            "science/report.py": "import streamlit as st\n",
        },
    )
    found = imports_of(package)
    assert [(i.importer, i.imported, i.line) for i in upward(found)] == [
        ("tomjerry.data.splits", "tomjerry.runs.folder", 2)
    ]
    assert "tomjerry/data/splits.py:2 (tomjerry.data.splits -> tomjerry.runs.folder)" == str(upward(found)[0])
    (way,) = cycles(found)
    assert {(i.importer, i.imported) for i in way} == {
        ("tomjerry.runs.folder", "tomjerry.runs.status"),
        ("tomjerry.runs.status", "tomjerry.runs.folder"),
    }
    assert ("tomjerry.runs.status", "tomjerry.paths") in {(i.importer, i.imported) for i in found}
    assert streamlit_imports(package) == ["tomjerry/science/report.py:1"]


def test_faces_import_nothing_and_importing_tomjerry_has_no_side_effect():
    """A wing's __init__.py is its description, not a loader; `import tomjerry` installs no import
    hook and sets no environment variable (the entry points call tomjerry.quiet.install())."""
    faces = {name for name, path in module_names(PACKAGE).items() if path.name == "__init__.py"}
    assert [str(i) for i in imports_of(PACKAGE) if i.importer in faces] == []
    probe = (
        "import os, sys; import tomjerry, tomjerry.runs.record, tomjerry.science.report; "
        "print('TF_CPP_MIN_LOG_LEVEL' in os.environ, any('Quiet' in type(f).__name__ for f in sys.meta_path))"
    )
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, env=env, check=True)
    assert out.stdout.split() == ["False", "False"], out.stdout + out.stderr


def readme_layout(readme: Path = ROOT / "README.md") -> str:
    text = readme.read_text()
    start = text.index("## Layout\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def listed_modules(section: str) -> set[str]:
    """The modules the README's layout names: `wing.module` for a line `      module  ...` under a
    line `  wing/  ...`, and each top-level `name.py` it mentions."""
    listed, wing_now = set(), None
    for line in section.splitlines():
        header = re.match(r"^  (\w+)/\s", line)
        if header:
            wing_now = header.group(1)
            continue
        item = re.match(r"^ {6}(\w+)(\s|$)", line)  # exactly six spaces: continuation lines have more
        if item and wing_now:
            listed.add(f"{wing_now}.{item.group(1)}")
        elif not line.startswith(" " * 7):  # a line of another entry ends the wing's list
            wing_now = None
    listed |= {name[:-3] for name in re.findall(r"\b(\w+\.py)\b", section)}
    return listed


def package_modules(package: Path = PACKAGE) -> set[str]:
    """Every module of tomjerry/ as the README names it: `wing.module`, or a top-level file's stem."""
    return {
        ".".join(path.relative_to(package).with_suffix("").parts)
        for path in package.rglob("*.py")
        if path.name != "__init__.py"
    } | {"__init__"}


def test_every_module_is_in_the_readme_layout():
    """The README's layout map cannot drift again: a module added to tomjerry/ fails here until the
    map (and its wing's __init__.py, which the map repeats) names it."""
    missing = sorted(package_modules() - listed_modules(readme_layout()))
    assert not missing, f"modules of tomjerry/ missing from README.md's '## Layout' section: {missing}"


def test_the_readme_check_catches_a_missing_module(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(
        "# x\n## Layout\n```\ntomjerry/\n  cli.py, __init__.py  the face\n  data/   the data\n"
        "      splits    splits\n      shots     shots\n```\n## Next\n  data/\n      leakage\n"
    )
    package = write_package(
        tmp_path,
        {"__init__.py": "", "cli.py": "", "data/__init__.py": "", "data/splits.py": "", "data/leakage.py": ""},
    )
    assert listed_modules(readme_layout(readme)) >= {"data.splits", "data.shots", "cli", "__init__"}
    assert package_modules(package) - listed_modules(readme_layout(readme)) == {"data.leakage"}
