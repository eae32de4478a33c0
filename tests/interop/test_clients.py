"""Interop: the official clients of every A2A line, with their default settings, against
one deployment (tests/interop/harness.py runs them; tests/interop/clients/ are the
scripts). One test per client line and operation; an operation a line does not have is
declared in ``harness.LINES`` and must be reported as such, never as a pass."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.interop import envs
from tests.interop.conftest import SETUP_TIMEOUT
from tests.interop.harness import LINES, InteropRun, interop_table

pytestmark = pytest.mark.timeout(SETUP_TIMEOUT)

NOT_IN_VERSION = "not in this version"
COMPLIANCE = Path(__file__).resolve().parents[2] / "docs" / "compliance.md"
START, END = "<!-- interop-table:start -->", "<!-- interop-table:end -->"

CASES = [(key, operation) for key, line in LINES.items() for operation in line.operations]


def context(run: InteropRun, key: str) -> str:
    return "\n\n".join(script.describe() for script in run.runs_of(key))


@pytest.mark.parametrize(("key", "operation"), CASES, ids=[f"{k}-{o}" for k, o in CASES])
def test_operation(interop_run: InteropRun, key: str, operation: str) -> None:
    line = LINES[key]
    result = interop_run.results.get((key, operation))
    assert result is not None, (
        f"{line.client} reported no {operation!r}\n{context(interop_run, key)}"
    )
    assert (result["client"], result["version"]) == (line.client, line.protocol), result
    if line.applicable(operation):
        assert result["ok"] is True, f"{line.client} {operation}: {result['detail']}"
    else:
        assert result["ok"] is None, f"declared not in this version, but: {result}"
        assert str(result["detail"]).startswith(NOT_IN_VERSION), result


def test_every_script_ran_to_its_end(interop_run: InteropRun) -> None:
    """Each script exited 0 and printed only declared operations (and handed-over ids)."""
    for script in interop_run.runs:
        assert script.returncode == 0, script.describe()
        declared = set(LINES[script.key].operations)
        for printed in script.lines:
            if "created" in printed:
                continue
            assert printed.get("operation") in declared, f"{printed}\n{script.describe()}"


def test_compliance_doc_has_the_interop_table(interop_run: InteropRun) -> None:
    """docs/compliance.md holds exactly the table this run produces, between the markers."""
    expected = interop_table(interop_run.results)
    written = envs.RUN_DIR / "interop-table.md"
    written.write_text(expected)
    text = COMPLIANCE.read_text()
    found = re.search(re.escape(START) + r"\n(.*?)" + re.escape(END), text, re.DOTALL)
    hint = f"put this ({written}) between {START} and {END} in {COMPLIANCE.name}:\n\n{expected}"
    assert found is not None, f"markers not found. {hint}"
    assert found.group(1).strip() == expected.strip(), f"the table differs. {hint}"
