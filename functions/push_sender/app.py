"""Push-notification sender, invoked by the push state machine (placeholder).

It runs outside the VPC so a client-supplied webhook URL can never reach ElastiCache,
Temporal or the instance metadata endpoint. The delivery itself comes in a later issue;
for now it logs what it was asked to send and reports it as not sent.
"""

from __future__ import annotations

import json
import logging
from typing import Any

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Log the notification request and return a summary for the state machine."""
    url = event.get("url", "") if isinstance(event, dict) else ""
    task_id = event.get("taskId", "") if isinstance(event, dict) else ""
    logger.info(json.dumps({"msg": "push notification requested", "url": url, "taskId": task_id}))
    return {"sent": False, "url": url, "taskId": task_id}
