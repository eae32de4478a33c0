"""Redis key naming: one hash slot per task, principal isolation, id validation."""

from __future__ import annotations

import uuid

import pytest
from redis.crc import key_slot

from a2a_gateway.core.contract import workflow_id
from a2a_gateway.store.keys import TaskKeys, bucket_of, is_valid_id


def test_all_keys_of_a_task_share_one_hash_slot() -> None:
    for task_id in [str(uuid.uuid4()) for _ in range(20)] + ["t", "task-123"]:
        keys = TaskKeys.of("alice", task_id, buckets=64)
        all_keys = keys.all()
        assert len(all_keys) == 5
        assert len(set(all_keys)) == 5, "the keys are distinct"
        slots = {key_slot(k.encode()) for k in all_keys}
        assert len(slots) == 1, all_keys


def test_key_order_is_the_append_scripts() -> None:
    keys = TaskKeys.of("alice", "t-1", buckets=8)
    assert keys.all() == [keys.task, keys.events, keys.history, keys.artifacts, keys.push]
    kinds = [k.split(":")[2] for k in keys.all()]
    assert kinds == ["task", "events", "history", "artifacts", "push"]


def test_tasks_in_the_same_bucket_share_a_slot() -> None:
    a = TaskKeys("alice", "t-a", bucket=5)
    b = TaskKeys("bob", "t-b", bucket=5)
    assert key_slot(a.events.encode()) == key_slot(b.events.encode())


def test_different_principals_give_different_keys() -> None:
    alice = TaskKeys.of("alice", "t-1", buckets=64)
    bob = TaskKeys.of("bob", "t-1", buckets=64)
    assert set(alice.all()).isdisjoint(bob.all())


def test_prefix_is_used() -> None:
    keys = TaskKeys.of("alice", "t-1", buckets=64, prefix="other")
    assert all(k.startswith("other:{b") for k in keys.all())


def test_bucket_of_is_stable() -> None:
    # zlib.crc32(b"task-123") == 654111554; 654111554 % 64 == 2, % 1000 == 554
    assert bucket_of("task-123", 64) == 2
    assert bucket_of("task-123", 1000) == 554
    assert TaskKeys.of("p", "task-123", buckets=64).bucket == 2


@pytest.mark.parametrize("buckets", [1, 2, 7, 64, 16384])
def test_bucket_of_is_within_range(buckets: int) -> None:
    seen = {bucket_of(str(uuid.uuid4()), buckets) for _ in range(200)}
    assert all(0 <= b < buckets for b in seen)
    if buckets > 1:
        assert len(seen) > 1, "task ids spread over buckets"


def test_uuid4_ids_are_valid() -> None:
    for _ in range(20):
        assert is_valid_id(str(uuid.uuid4()))


@pytest.mark.parametrize("value", ["a", "A.b_c-d", "0", "x" * 128])
def test_plain_ids_are_valid(value: str) -> None:
    assert is_valid_id(value)


@pytest.mark.parametrize(
    "value",
    ["", "a b", "x" * 129, "../x", "a:b", "a/b", "-a", ".hidden", "a{b}", "é", "abc\n"],
)
def test_invalid_ids_are_rejected(value: str) -> None:
    assert not is_valid_id(value)


def test_workflow_id_contains_principal_and_task_id() -> None:
    wid = workflow_id("alice", "t-42")
    assert "alice" in wid
    assert "t-42" in wid
    assert workflow_id("bob", "t-42") != wid
    assert workflow_id("alice", "t-43") != wid
