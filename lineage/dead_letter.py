"""The dead-letter envelope: what the processor writes to ``openlineage.events.dlq``.

The raw bytes are kept exactly (base64) so that a fixed event can be replayed as it was sent;
only an event refused as too large keeps just its first RAW_LIMIT_TOO_LARGE bytes, so that its
dead letter still fits in a Kafka message (``rawTruncated`` and ``rawBytes`` say so).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

RAW_LIMIT_TOO_LARGE = 64 * 1024


def dead_letter(
    raw: bytes,
    reason: str,
    message: str,
    source_topic: str,
    source_partition: int,
    source_offset: int,
    now: datetime | None = None,
) -> bytes:
    kept = raw[:RAW_LIMIT_TOO_LARGE] if reason == "too-large" else raw
    envelope = {
        "reason": reason,
        "message": message,
        "source": {"topic": source_topic, "partition": source_partition, "offset": source_offset},
        "failedAt": (now or datetime.now(UTC)).isoformat(),
        "raw": base64.b64encode(kept).decode("ascii"),
        "rawBytes": len(raw),
        "rawTruncated": len(kept) < len(raw),
    }
    return json.dumps(envelope).encode()
