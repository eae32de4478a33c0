"""Both dispatchers retry alike (issue 14: "the same retry policy"): the state machine's
retrier for failed deliveries (AWS) and the worker's own (``push.delivery.RetryPolicy``,
from the settings' defaults) state the same numbers, which this keeps in step."""

from __future__ import annotations

import json
from pathlib import Path

from a2a_gateway.config import Settings
from a2a_gateway.push.delivery import RetryPolicy

MACHINE = Path(__file__).resolve().parents[2] / "statemachine" / "push.asl.json"


def test_the_worker_retries_as_the_state_machine_does() -> None:
    states = json.loads(MACHINE.read_text())["States"]
    retriers = states["SendNotification"]["Retry"]
    (refused,) = [r for r in retriers if r["ErrorEquals"] == ["PushRejected"]]
    assert refused["MaxAttempts"] == 0  # never retried, as SendHere does not
    (failed,) = [r for r in retriers if r["ErrorEquals"] == ["States.ALL"]]
    policy, settings = RetryPolicy(), Settings()
    assert failed["MaxAttempts"] + 1 == policy.attempts == settings.push_attempts
    assert failed["IntervalSeconds"] == policy.base == settings.push_retry_seconds
    assert failed["BackoffRate"] == policy.rate
    assert failed["MaxDelaySeconds"] == policy.cap
    assert failed["JitterStrategy"] == "FULL"  # RetryPolicy.delay draws uniform(0, ceiling)
