"""Folding stored artifact chunks into artifacts; stream entry id helpers."""

from __future__ import annotations

from typing import Any

import pytest

from a2a_gateway.core import ids as core_ids
from a2a_gateway.store.eventlog import entry_key, fold_artifacts, is_entry_id


def chunk(artifact_id: str, *texts: str, append: bool | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "kind": "artifact-update",
        "taskId": "t",
        "contextId": "c",
        "artifact": {
            "artifactId": artifact_id,
            "parts": [{"kind": "text", "text": t} for t in texts],
        },
    }
    if append is not None:
        event["append"] = append
    return event


def texts(artifact: dict[str, Any]) -> list[str]:
    return [p["text"] for p in artifact["parts"]]


def test_append_extends_parts_in_order() -> None:
    (artifact,) = fold_artifacts(
        [chunk("a", "1"), chunk("a", "2", append=True), chunk("a", "3", "4", append=True)]
    )
    assert artifact["artifactId"] == "a"
    assert texts(artifact) == ["1", "2", "3", "4"]


@pytest.mark.parametrize("append", [False, None])
def test_non_append_replaces(append: bool | None) -> None:
    (artifact,) = fold_artifacts(
        [chunk("a", "1"), chunk("a", "2", append=True), chunk("a", "new", append=append)]
    )
    assert texts(artifact) == ["new"]


def test_append_to_unknown_artifact_starts_it() -> None:
    (artifact,) = fold_artifacts([chunk("a", "x", append=True)])
    assert texts(artifact) == ["x"]


def test_order_of_first_appearance_is_kept() -> None:
    folded = fold_artifacts(
        [
            chunk("b", "b1"),
            chunk("a", "a1"),
            chunk("b", "b2", append=True),
            chunk("c", "c1"),
            chunk("a", "a-new"),
        ]
    )
    assert [a["artifactId"] for a in folded] == ["b", "a", "c"]
    assert [texts(a) for a in folded] == [["b1", "b2"], ["a-new"], ["c1"]]


def test_fold_accepts_a_generator_and_empty_input() -> None:
    assert fold_artifacts(iter([])) == []
    folded = fold_artifacts(c for c in [chunk("a", "1"), chunk("a", "2", append=True)])
    assert texts(folded[0]) == ["1", "2"]


@pytest.mark.parametrize(
    "value", ["0-0", "1-0", "1700000000000-15", "10-0", "18446744073709551615-18446744073709551615"]
)
def test_is_entry_id_accepts_stream_ids(value: str) -> None:
    assert is_entry_id(value)


@pytest.mark.parametrize(
    "value",
    [
        *("", "1", "1-", "-1", "a-b", "1-2-3", "$", ">", " 1-0", "1-0 ", "1-0\n", "\uff11-\uff10"),
        # parts above 2^64-1: Redis refuses them ("Invalid stream ID")
        "99999999999999999999-0",
        "18446744073709551616-0",
        "0-18446744073709551616",
    ],
)
def test_is_entry_id_rejects_others(value: str) -> None:
    assert not is_entry_id(value)


def test_the_id_rules_are_core_ids_own() -> None:
    """One definition, which the client reads too (``parse_event_id``)."""
    assert (is_entry_id, entry_key) == (core_ids.is_entry_id, core_ids.entry_key)


def test_entry_key_orders_numerically() -> None:
    assert entry_key("10-0") > entry_key("9-5")
    assert entry_key("9-10") > entry_key("9-9")
    assert entry_key("5-1") == (5, 1)
    ids = ["10-0", "9-5", "9-10", "100-0", "0-1"]
    assert sorted(ids, key=entry_key) == ["0-1", "9-5", "9-10", "10-0", "100-0"]
