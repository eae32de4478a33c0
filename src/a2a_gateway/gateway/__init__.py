"""The HTTP side: one ASGI app for JSON-RPC, SSE and agent cards (uvicorn or Lambda)."""
