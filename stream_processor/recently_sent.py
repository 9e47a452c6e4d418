"""A bounded memory of the graph mutations this worker has sent, to skip sending them again.

Many runs touch the same dataset or job, and each run emits the node's upsert when it first sees
it; when the upsert is byte for byte one this worker already sent, sending it again changes
nothing in the graph. Skipping it is safe as long as the earlier copy is sure to reach Kafka or
be produced again: Faust sends a mutation before it commits the offset of the event that caused
it, and an event that was not committed is processed again. The one gap is a partition that
leaves this worker and comes back before that event's offset was committed; so the memory is
cleared whenever partitions are revoked, and a redelivered event always sends its full state.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict


class RecentlySent:
    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[bytes, None] = OrderedDict()

    def first_time(self, encoded: bytes) -> bool:
        """True if this encoded mutation is not remembered; it is remembered from now on."""
        if self._capacity <= 0:
            return True
        digest = hashlib.blake2b(encoded, digest_size=16).digest()
        if digest in self._seen:
            self._seen.move_to_end(digest)
            return False
        self._seen[digest] = None
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return True

    def forget(self) -> None:
        self._seen.clear()

    def __len__(self) -> int:
        return len(self._seen)
