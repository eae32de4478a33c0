"""The protocol layer: one adapter per A2A version and binding over the one service.

Each adapter parses its version's requests into the internal model (``a2a_gateway.models``)
and renders the service's domain objects, events and errors in its version's shapes; the
adapters own the JSON-RPC envelope and the SSE framing.
"""
