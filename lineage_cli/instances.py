"""Which member of its consumer group a processor or sink is: Kafka's static membership.

A consumer that restarts with the ``group.instance.id`` it had takes its partitions back at once;
without one, its group waits for the dead member's session to time out (30 s for a processor,
45 s for a sink) before anyone reads them again. The id must stay the same across restarts of one
worker and differ between workers running at once (two members with one id fence each other):

- a processor's state lives in its LINEAGE_HOME, one worker per home, so its id is the host name
  and a digest of that folder;
- sinks keep no state, so a sink takes the first free slot of LINEAGE_HOME/sink-slots (a file it
  holds locked while it runs; a killed sink's lock goes with it) and is the host name and slot.

``LINEAGE_PROCESSOR_INSTANCE_ID`` / ``LINEAGE_SINK_INSTANCE_ID`` set an id outright (an
orchestrator's pod name, say); ``none`` turns static membership off. The price of static
membership: a member that stops for good keeps its partitions until its session times out, as
a killed one does, since static members do not leave their group when they stop.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
from typing import IO

from lineage.settings import Settings

MAX_SINK_SLOTS = 256
_held: list[IO[bytes]] = []  # the sink's slot lock, held for the life of the process


def processor_instance(settings: Settings) -> str | None:
    configured = settings.processor_instance_id.strip()
    if configured.lower() == "none":
        return None
    if configured:
        return configured
    home = str(settings.home.resolve())
    return f"{_host()}-processor-{hashlib.sha256(home.encode()).hexdigest()[:10]}"


def sink_instance(settings: Settings) -> str | None:
    configured = settings.sink_instance_id.strip()
    if configured.lower() == "none":
        return None
    if configured:
        return configured
    slots = settings.home / "sink-slots"
    slots.mkdir(parents=True, exist_ok=True)
    for slot in range(MAX_SINK_SLOTS):
        lock = (slots / f"{slot}.lock").open("ab")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        _held.append(lock)
        return f"{_host()}-sink-{slot}"
    raise RuntimeError(f"all {MAX_SINK_SLOTS} sink slots in {slots} are taken; set LINEAGE_SINK_INSTANCE_ID")


def with_instances(settings: Settings, processor: bool = False, sink: bool = False) -> Settings:
    """``settings`` with the instance ids resolved ("none" when off), for the components asked."""
    update = {}
    if processor:
        update["processor_instance_id"] = processor_instance(settings) or "none"
    if sink:
        update["sink_instance_id"] = sink_instance(settings) or "none"
    return settings.model_copy(update=update)


def _host() -> str:
    return os.environ.get("HOSTNAME") or socket.gethostname() or "localhost"
