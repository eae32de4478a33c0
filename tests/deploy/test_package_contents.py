"""The deployed package holds no development tool, and its deployments install what exists.

The wheel is built the way both deployments build it: from pyproject.toml, README.md and
src/ alone (the worker image's ``COPY``; the layer Makefile's clean copy), so what is in
the wheel is what reaches Lambda and ECS. The Lambda layer itself is checked the same
way: built by its Makefile target in ``test_built_artifact.py``, and as ``sam build`` left
it under ``.aws-sam`` here (``make test`` builds it first; skipped when absent).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from configparser import ConfigParser
from typing import TYPE_CHECKING

import pytest

from tests.packaging import (
    DEV_EXTRAS,
    ROOT,
    canonical,
    dev_only_names,
    dev_project,
    development_leftovers,
    installed_distributions,
    main_project,
    requirement_name,
)

if TYPE_CHECKING:
    from pathlib import Path

BUILD_TIMEOUT = 300


@pytest.fixture(scope="module")
def unpacked_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """a2a-gateway's wheel, built from a clean copy of its sources, unpacked."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__")
    )
    dist = base / "dist"
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir"]
    result = subprocess.run(
        [*command, str(dist), str(source)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"pip wheel failed:\n{result.stdout}\n{result.stderr}"
    (wheel,) = dist.glob("a2a_gateway-*.whl")
    unpacked = base / "unpacked"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(unpacked)
    return unpacked


# The browser console's page: package data, which a wheel drops unless it is declared.
CONSOLE_FILES = ["__init__.py", "console.css", "console.js", "index.html"]


def console_files(site: Path) -> list[Path]:
    return [p for p in (site / "a2a_gateway" / "gateway" / "console").iterdir() if p.is_file()]


def dist_info(unpacked: Path) -> Path:
    (info,) = installed_distributions(unpacked).values()
    return info


def test_the_wheel_holds_the_package_only(unpacked_wheel: Path) -> None:
    top = {p.name for p in unpacked_wheel.iterdir() if not p.name.endswith(".dist-info")}
    assert top == {"a2a_gateway"}
    assert (unpacked_wheel / "a2a_gateway" / "store" / "append.lua").exists()
    assert sorted(p.name for p in console_files(unpacked_wheel)) == CONSOLE_FILES
    assert development_leftovers(unpacked_wheel) == []


def test_the_wheel_requires_nothing_that_only_development_needs(unpacked_wheel: Path) -> None:
    metadata = (dist_info(unpacked_wheel) / "METADATA").read_text().splitlines()
    production = []
    for line in metadata:
        if not line.startswith("Requires-Dist:"):
            continue
        requirement = line.split(":", 1)[1].strip()
        extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", requirement)
        if extra is None or extra.group(1) not in DEV_EXTRAS:
            production.append(requirement_name(requirement))
    assert production, metadata
    assert sorted(set(production) & dev_only_names()) == []


def test_no_entry_point_leads_outside_the_wheel(unpacked_wheel: Path) -> None:
    """The `a2a-gateway` command is the dev tools' (tools/pyproject.toml): the package names
    no console script of the same name, and none whose module it does not ship."""
    path = dist_info(unpacked_wheel) / "entry_points.txt"
    entry_points = ConfigParser(delimiters=("=",))
    entry_points.optionxform = str  # keep names as written
    if path.exists():
        entry_points.read_string(path.read_text())
    dev_scripts = dev_project().get("scripts", {})
    assert isinstance(dev_scripts, dict)
    for section in entry_points.sections():
        for name, target in entry_points.items(section):
            module = target.split(":")[0].strip()
            as_file = unpacked_wheel / (module.replace(".", "/") + ".py")
            as_package = unpacked_wheel / module.replace(".", "/") / "__init__.py"
            assert as_file.exists() or as_package.exists(), f"{section} {name} = {target}"
            if section == "console_scripts":
                assert name not in dev_scripts, f"{name} is the dev tools' command"


@pytest.mark.parametrize("artifact", ["SharedLayer", "GatewayManagedFunction"])
def test_what_sam_build_produced_holds_no_development_tools(artifact: str) -> None:
    """`make test` runs `sam build` first: these are the directories `sam deploy` uploads."""
    site = ROOT / ".aws-sam" / "build" / artifact / "python"
    if not site.is_dir():
        pytest.skip(f"no {site.relative_to(ROOT)}: run `make sam-build`")
    assert (site / "a2a_gateway" / "__init__.py").exists()
    assert sorted(p.name for p in console_files(site)) == CONSOLE_FILES
    assert development_leftovers(site) == []


def test_the_extras_the_deployments_install_exist() -> None:
    """pip only warns about an extra a package lacks, so a renamed extra would silently
    leave uvicorn out of the layer or boto3 out of the worker image."""
    layer = (ROOT / "layers" / "shared" / "Makefile").read_text()
    image = (ROOT / "worker" / "Dockerfile").read_text()
    installed = {
        "layer": re.findall(r"\.whl\)\[([^\]]+)\]", layer),
        "worker image": re.findall(r"pip install [^\n]*'\.\[([^\]]+)\]'", image),
    }
    extras = main_project().get("optional-dependencies", {})
    assert isinstance(extras, dict)
    for where, found in installed.items():
        assert len(found) == 1, f"the {where}'s install command was not found"
        for extra in found[0].split(","):
            assert extra.strip() in extras, f"the {where} installs the unknown extra {extra!r}"
            assert extra.strip() not in DEV_EXTRAS, f"the {where} installs {extra!r}"
    # The layer's server runs uvicorn; the worker image reads secrets with boto3.
    assert "server" in installed["layer"][0].split(",")
    assert "aws" in installed["worker image"][0].split(",")


def test_the_dev_tools_are_a_distribution_of_their_own() -> None:
    table = dev_project()
    assert canonical(str(table["name"])) == "a2a-gateway-dev"
    requirements = table.get("dependencies", [])
    assert isinstance(requirements, list)
    assert "a2a-gateway" in {requirement_name(r) for r in requirements}
