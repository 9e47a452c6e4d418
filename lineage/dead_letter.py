"""The dead-letter envelope: what the processor writes to ``openlineage.events.dlq``.

The raw bytes are kept exactly (base64) so that a fixed event can be replayed as it was sent.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime


def dead_letter(
    raw: bytes,
    reason: str,
    message: str,
    source_topic: str,
    source_partition: int,
    source_offset: int,
    now: datetime | None = None,
) -> bytes:
    envelope = {
        "reason": reason,
        "message": message,
        "source": {"topic": source_topic, "partition": source_partition, "offset": source_offset},
        "failedAt": (now or datetime.now(UTC)).isoformat(),
        "raw": base64.b64encode(raw).decode("ascii"),
    }
    return json.dumps(envelope).encode()
