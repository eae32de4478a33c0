"""Smoke tests of the benchmark's pure helpers (no servers, no timing assertions)."""

from __future__ import annotations

import pytest

from a2a_gateway_dev.bench.client import ChunkedSSE, StreamSpec, status_stamp
from a2a_gateway_dev.bench.report import percentile, ratio, summary_ms, table
from a2a_gateway_dev.bench.runner import parse_args, scaling_note


def test_percentile_interpolates_and_handles_edges() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 99) == 7.0
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 100.0
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0


def test_summary_and_ratio() -> None:
    summary = summary_ms([0.001, 0.002, 0.003])
    assert summary == {"n": 3, "p50_ms": 2.0, "p99_ms": 2.98, "max_ms": 3.0}
    assert summary_ms([])["p50_ms"] is None
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(None, 2.0) is None
    assert ratio(1.0, 0) is None


def test_table_aligns_columns() -> None:
    text = table(["metric", "ours"], [["events/s", 12345.6], ["missing", None], ["n", 3]])
    lines = text.splitlines()
    assert lines[0].startswith("| metric")
    assert set(lines[1]) <= {"|", "-"}
    assert "12,346" in lines[2]
    assert lines[3].rstrip().endswith("- |")
    assert len({len(line) for line in lines}) == 1


def test_chunked_sse_decoder_splits_events_across_chunks() -> None:
    parser = ChunkedSSE(chunked=True)
    body = b'id: 1\r\ndata: {"a":1}\r\n\r\n: keep-alive\n\nid: 2\ndata: {"b":2}\n\n'
    wire = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    events = []
    for i in range(0, len(wire), 7):  # arbitrary split points, CRLFs included
        events += parser.feed(wire[i : i + 7])
    assert events == [b'{"a":1}', b'{"b":2}']
    assert parser.done


def test_status_stamp_reads_timestamp_and_final() -> None:
    data = (
        b'{"jsonrpc":"2.0","id":1,"result":{"kind":"status-update","status":{"state":'
        b'"completed","timestamp":"2026-01-01T00:00:00+00:00"},"final":true}}'
    )
    is_status, stamp, final = status_stamp(data)
    assert is_status and final
    assert stamp == 1767225600.0
    assert status_stamp(b'{"kind":"task"}') == (False, None, False)


def test_request_bytes_and_options() -> None:
    raw = StreamSpec("POST", "/", b"{}").request("127.0.0.1", 80)
    assert raw.startswith(b"POST / HTTP/1.1\r\n")
    assert b"content-length: 2\r\n" in raw
    assert raw.endswith(b"\r\n\r\n{}")
    quick = parse_args(["--quick"])
    assert 10000 not in quick.levels
    assert parse_args(["--levels", "1,10"]).levels == (1, 10)


def test_scaling_note_finds_the_flat_point() -> None:
    options = parse_args(["--levels", "1,100,1000"])
    results = {
        "fanout_1": {"ours": {"events_per_s": 100.0, "delivered_pct": 100.0}},
        "fanout_100": {"ours": {"events_per_s": 5000.0, "delivered_pct": 100.0}},
        "fanout_1000": {"ours": {"events_per_s": 5100.0, "delivered_pct": 100.0}},
    }
    assert scaling_note(results, options, "ours").startswith("flat from 100")
    results["fanout_1000"]["ours"]["delivered_pct"] = 90.0
    assert scaling_note(results, options, "ours").startswith("stops at 1000")
