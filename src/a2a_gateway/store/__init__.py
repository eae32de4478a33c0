"""The store: the only code that talks to Redis (event log and its script, stream hub, push
configs, key layout, negative lookups). The gateway and the worker call it; nothing else
imports ``redis``."""
