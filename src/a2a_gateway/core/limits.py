"""Caps on what one request can make the gateway parse, hold or store.

Every number a client can push up is bounded here, in one place, so that a hostile or
buggy client gets a clear -32602 naming the limit instead of costing memory, Redis space or
a stack overflow. The values are generous for real use; each one is enforced where the
data first arrives: the JSON-RPC layer (depth, batch size), the request models (ids,
parts, lists, metadata) and the push config store (configs per task). The request body as
a whole is bounded by the ``A2A_MAX_BODY_BYTES`` setting.
"""

from __future__ import annotations

MAX_ID_LENGTH = 128
"""Longest id a client may send: task, context, message, referenced task, push config and
artifact ids, and a JSON-RPC string id. Task ids are also limited to letters, digits and
``._-`` (``store.keys.is_valid_id``), since they become Redis keys and workflow ids."""

MAX_PARTS = 100
"""Most parts in one message."""

MAX_LIST_ITEMS = 100
"""Most items in any other list a request carries: ``referenceTaskIds``, ``extensions``,
``acceptedOutputModes`` and a push config's authentication ``schemes``."""

MAX_URI_LENGTH = 2048
"""Longest URI: a push notification URL or an extension URI. The webhook URL check
(``push.webhook_url``, at set time) enforces it too, whatever the request model allowed."""

MAX_MEDIA_TYPE_LENGTH = 255
"""Longest media type (``mimeType``, an accepted output mode); RFC 6838 allows 127 + 127."""

MAX_METADATA_BYTES = 16 * 1024
"""Largest ``metadata`` object (of a request, a message, a part, a task or an artifact),
measured as compact JSON in UTF-8."""

MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects in a request body, the request object and a batch
array included (``{"a": [1]}`` is 2 deep)."""

MAX_PUSH_CONFIGS = 10
"""Most push notification configs one task may hold; replacing one by its id is always
allowed."""

MAX_BATCH = 100
"""Most requests in one JSON-RPC batch."""
