"""``a2a-gateway bench``: the stream benchmark (issue 6), ours against a floor and a peer.

The runner (``runner.py``) starts the whole local stack (Valkey, Temporal, worker, our
gateway under uvicorn) plus two references on free 127.0.0.1 ports, the *floor* (a bare
uvicorn + Starlette SSE counter, ``floor.py``) and the *peer* (the official a2a-sdk 0.2.x
server, ``peer.py``), drives the same workloads against all three from several client
processes (``client.py``), prints a table and writes JSON. Every process it starts is
stopped by pid at the end, also on Ctrl-C or an error.
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; see ``a2a-gateway bench --help``."""
    from a2a_gateway_dev.bench.runner import main as run  # noqa: PLC0415 - keeps the CLI light

    return run(argv)
