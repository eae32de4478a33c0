"""The core: domain rules and the gateway-worker contract, free of I/O (no Redis, no HTTP)."""
