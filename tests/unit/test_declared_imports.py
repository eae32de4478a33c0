"""Every third-party package the code imports is declared by the distribution it ships in.

Imports are read with ``ast`` (statements anywhere, ``importlib.import_module("x")`` and
``find_spec("x")`` with a literal name, so a lazy ``boto3`` counts too) and mapped to the
installed distribution that provides them (``jwt`` -> PyJWT, ``opentelemetry.sdk`` ->
opentelemetry-sdk). A package that is only there because something else depends on it
fails here: declare what you import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.packaging import (
    DEV_PACKAGE,
    PACKAGE,
    ROOT,
    dev_only_names,
    dev_tools_names,
    imported_modules,
    production_names,
    third_party_imports,
)

if TYPE_CHECKING:
    from pathlib import Path

# Run with a2a-gateway's own installation: launch.py by the gateway function (from the
# layer) and by the worker image, healthcheck.py by the worker image.
DEPLOYED_SCRIPTS = [
    ROOT / "functions" / "gateway" / "launch.py",
    ROOT / "worker" / "healthcheck.py",
]
# The push sender is app.py alone on the Lambda Python runtime, which provides boto3.
PUSH_SENDER = ROOT / "functions" / "push_sender" / "app.py"
LAMBDA_RUNTIME = frozenset({"boto3", "botocore"})


def undeclared(
    files: list[Path], first_party: frozenset[str], declared: frozenset[str]
) -> list[str]:
    problems = []
    for (path, module), providers in sorted(third_party_imports(files, first_party).items()):
        if not providers:
            problems.append(f"{path}: {module} (no installed distribution provides it)")
        elif not providers & declared:
            problems.append(f"{path}: {module} (from {', '.join(sorted(providers))})")
    return problems


def test_the_package_declares_what_it_imports() -> None:
    files = sorted(PACKAGE.rglob("*.py")) + DEPLOYED_SCRIPTS
    problems = undeclared(files, frozenset({"a2a_gateway", "launch"}), production_names())
    assert not problems, (
        "imported but not declared in pyproject.toml (dependencies, or an extra other than "
        "`dev`):\n" + "\n".join(problems)
    )


def test_the_package_imports_nothing_that_only_development_has() -> None:
    files = sorted(PACKAGE.rglob("*.py")) + DEPLOYED_SCRIPTS
    imports = third_party_imports(files, frozenset({"a2a_gateway", "launch"}))
    dev_only = dev_only_names()
    problems = [
        f"{path}: {module}"
        for (path, module), providers in sorted(imports.items())
        if module.split(".")[0] == "a2a_gateway_dev" or providers & dev_only
    ]
    assert not problems, "deployed code imports development-only code:\n" + "\n".join(problems)


def test_the_dev_tools_declare_what_they_import() -> None:
    files = sorted(DEV_PACKAGE.rglob("*.py"))
    problems = undeclared(files, frozenset({"a2a_gateway_dev", "a2a_gateway"}), dev_tools_names())
    assert not problems, (
        "imported but not declared in tools/pyproject.toml (or by the a2a-gateway "
        "requirement and extras it names):\n" + "\n".join(problems)
    )


def test_the_push_sender_needs_only_the_lambda_runtime() -> None:
    """The Lambda package is app.py and a copy of push/sender.py (``sender``): together
    they import nothing beyond the standard library and the runtime's boto3. (app.py's
    fallback to the installed package, for a checkout, is the one exception.)"""
    files = [PUSH_SENDER, ROOT / "src" / "a2a_gateway" / "push" / "sender.py"]
    problems = undeclared(files, frozenset({"sender"}), LAMBDA_RUNTIME)
    assert [p for p in problems if "a2a_gateway.push.sender" not in p] == [], problems


def test_lazy_and_type_only_imports_are_seen(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from __future__ import annotations\n"
        "import importlib\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from yaml import Loader\n"
        "def f():\n"
        "    import jwt.algorithms\n"
        "    if importlib.util.find_spec('boto3') is None:\n"
        "        return importlib.import_module('botocore.config')\n"
        "    return __import__('redis')\n"
    )
    assert imported_modules(module) >= {
        "yaml",
        "yaml.Loader",
        "jwt.algorithms",
        "boto3",
        "botocore.config",
        "redis",
    }
    found = third_party_imports([module], frozenset())
    assert found[(module.as_posix(), "jwt.algorithms")] == {"pyjwt"}
