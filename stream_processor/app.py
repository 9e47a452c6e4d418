"""The Faust app: two thin agents around the pure core (``lineage.processing``).

``route`` reads ``openlineage.events`` in batches, validates each event, dead-letters the bad
ones with a reason, and re-keys the good ones onto the internal runs topic: run events by
runId, DatasetEvents and JobEvents by the dataset or job. The re-keying is what makes the
processor correct whatever key or partition an integration chose: every event of a run meets
the run's state on one partition of one worker. The events a batch sends to one partition go
as one message (``lineage.routed_batch``), each with its key and where it was first read.

``merge`` reads the runs topic, folds each run event into the run's state (a changelogged
table, co-partitioned with the runs topic), maps static events directly, and sends to
``lineage.graph`` the graph mutations that changed (``lineage.processing``), minus those this
worker recently sent already (``recently_sent``): what a batch changed on one partition, in as
few change sets as fit in a message.
Offsets are committed only after the producer flushed (Faust does this), so a crash means
redelivery, which the idempotent merge and mutations absorb. An event that fails in a way the
core did not foresee is dead-lettered with reason ``processing-error``; the worker carries on.

What is not the event's fault, the state store or Kafka refusing a write, stops the worker
(``on_fatal``) before the event is acknowledged. Left to Faust, an agent that raises is restarted
and the event it was handling is acknowledged, then committed: lost. Exiting instead means the
restarted worker is given the event again. A record Kafka gives up delivering later (after the
producer's retries) stops the worker the same way, before the commit (``ExitOnSendError``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, NoReturn

import faust
from aiokafka.partitioner import murmur2
from faust.streams import _current_event

from lineage import routed_batch
from lineage.dead_letter import dead_letter
from lineage.mutations import split_change_sets, too_large_for_a_change_set
from lineage.processing import Rejected, StateCache, apply_all, route
from lineage.routed_batch import Source
from lineage.settings import Settings
from observability import metrics
from observability.health import Health
from producers.topics import MAX_MESSAGE_BYTES
from stream_processor import faust_fixes
from stream_processor.leniency_log import LeniencyLog
from stream_processor.recently_sent import RecentlySent
from stream_processor.stall_watch import StallWatch

logger = logging.getLogger(__name__)

ROUTE_BATCH = 500
ROUTE_WITHIN_SECONDS = 0.05
# Positions on the runs topic per message: an event of a routed batch is at offset * this + its
# index (a route batch holds ROUTE_BATCH events; a batch holding more is refused). An event sent
# alone, as before routed batches, is at its offset: always below the positions of the batches
# that follow it on the partition, so states stored before and after an upgrade compare.
POSITIONS_PER_MESSAGE = 1 << 16
# A runs-topic message that is not a batch is dead-lettered with at most this much of it.
BAD_BATCH_KEPT_BYTES = 1024 * 1024
# The merge takes up to this many runs-topic messages at a time (each a routed batch of up to
# ROUTE_BATCH events), or what came within this long.
MERGE_BATCH = 20
MERGE_WITHIN_SECONDS = 0.05
# Runs whose decoded state the worker keeps in memory (lineage.processing.StateCache).
STATE_CACHE_RUNS = 4096
# RocksDB memory per partition the worker holds (one database each). Faust's defaults are a
# 2 GiB block cache and three 64 MiB write buffers per partition: a worker holding 6 partitions
# could grow to some 13 GiB. A run's state is read while the run is active, so a small cache
# keeps the hot runs; the rest stay on disk.
ROCKSDB_OPTIONS = {"block_cache_size": 64 * 1024**2, "write_buffer_size": 16 * 1024**2, "max_write_buffer_number": 2}
# The worker's exit status when it stops rather than acknowledge an event it could not pass on
# (EX_SOFTWARE in sysexits.h).
EXIT_UNPROCESSED = 70
# The largest change set sent to the graph topic, and the largest run state kept in the
# changelog, leaving room in a Kafka message for the key.
CHANGE_SET_BYTES = STATE_BYTES = MAX_MESSAGE_BYTES - 64 * 1024
# The most bytes of events packed in one runs-topic message: under the 1 MiB message limit Kafka
# gives a topic by default, so that a runs topic made outside this product takes them too. An
# event larger than that goes in a message of its own.
ROUTED_BATCH_BYTES = 1_000_000
# The most mutations in one change set: a sink writes a few of them per Neo4j transaction.
CHANGE_SET_MUTATIONS = 1000
# How often the worker looks for partitions that stopped moving (stall_watch).
STALL_CHECK_SECONDS = 10.0
# Mutations remembered per worker so that one shared by many runs is sent once (~100 bytes each).
RECENTLY_SENT_CAPACITY = 100_000
# How often the worker tells its health check it is alive, and looks whether it is ready.
HEALTH_CHECK_SECONDS = 1.0


@dataclass(frozen=True)
class Processor:
    """The app and the parts tests and the worker need to reach."""

    app: faust.App
    route: Any
    merge: Any
    events: faust.TopicT
    dlq: faust.TopicT
    runs: faust.TopicT
    graph: faust.TopicT
    run_table: Any
    leniency_log: LeniencyLog
    partitions: Partitions


def exit_unacknowledged(exc: BaseException, event: faust.EventT | None) -> NoReturn:
    """Stop the process at once, before Faust can acknowledge ``event`` (see the module's docstring),
    or (no event) before it commits the offsets of what caused a record Kafka gave up delivering.

    ``os._exit`` skips Faust's shutdown, which would commit the offsets acknowledged so far; the
    events after the last commit are redelivered, which the merge absorbs. RocksDB's write-ahead
    log keeps the state store consistent."""
    if event is not None:
        msg = event.message
        what = f"cannot store or pass on the event at topic={msg.topic} partition={msg.partition} offset={msg.offset}"
    elif isinstance(exc, WorkerStuck):
        what = "a partition stopped moving"
    else:
        what = "Kafka gave up delivering a record the worker sent, or the consumer skipped records"
    logger.critical(
        "%s (%s: %s); exiting with status %d before it is acknowledged, so that the worker is given it "
        "again when restarted",
        what,
        type(exc).__name__,
        exc,
        EXIT_UNPROCESSED,
        exc_info=exc,
    )
    logging.shutdown()
    sys.stderr.flush()
    os._exit(EXIT_UNPROCESSED)


class WorkerStuck(RuntimeError):
    """A partition this worker holds has not moved for longer than LINEAGE_PROCESSOR_STALL_TIMEOUT."""


class ExitOnSendError(faust.Sensor):
    """Faust only logs a record Kafka gave up delivering (the run state's changelog records too),
    and then commits the offsets of the events that caused it. This sensor ends the worker first:
    the record's future fails (and this runs) inside the producer flush that precedes each commit."""

    # Faust's services log their start and stop at INFO; kept with Faust's own (observability.logs).
    logger = logging.getLogger("faust.sensors.exit_on_send_error")

    def __init__(self, on_fatal: Callable[[BaseException, faust.EventT | None], NoReturn]) -> None:
        super().__init__()
        self._on_fatal = on_fatal

    def on_send_error(self, producer: Any, exc: BaseException, state: Any) -> None:
        self._on_fatal(exc, None)


def create_app(
    settings: Settings,
    on_fatal: Callable[[BaseException, faust.EventT | None], NoReturn] = exit_unacknowledged,
    health: Health | None = None,
) -> Processor:
    app = faust.App(
        settings.processor_group,
        broker=f"kafka://{settings.kafka_bootstrap}",
        # SASL / TLS as for the product's other clients (Faust derives aiokafka's security_protocol).
        broker_credentials=settings.faust_broker_credentials,
        store=settings.processor_store,
        datadir=str(settings.home / "processor"),
        autodiscover=False,
        web_enabled=False,
        topic_partitions=settings.topic_partitions,
        # The worker creates every topic Faust reads or writes beforehand (stream_processor.worker);
        # this only matters should one vanish while it runs.
        topic_replication_factor=max(settings.topic_replication, 1),
        # No leader election: nothing here runs on one worker only, so no internal leader topic.
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        producer_linger_ms=10,
        producer_max_request_size=MAX_MESSAGE_BYTES,
        broker_commit_interval=1.0,
        broker_session_timeout=settings.processor_session_timeout,
        # Static membership (lineage_cli.instances): a restarted worker takes its partitions back at once.
        consumer_group_instance_id=_instance(settings.processor_instance_id),
        broker_heartbeat_interval=min(3.0, settings.processor_session_timeout / 3),
    )
    app.sensors.add(ExitOnSendError(on_fatal))
    faust_fixes.install(settings.kafka_client_config(), lambda exc: on_fatal(exc, None))
    raw: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
    partitions = Partitions(settings.topic_partitions, settings.topic_partitions)
    events = app.topic(settings.events_topic, **raw)
    dlq = app.topic(settings.dlq_topic, **raw)
    runs = app.topic(settings.runs_topic, partitions=settings.topic_partitions, **raw)
    graph = app.topic(settings.graph_topic, **raw)
    # Keys (run ids) and values (JSON the core encodes, lineage.processing.StoredRun) are bytes,
    # stored as they are. Faust derives the changelog's serializers from key_type/value_type on
    # both the write and the recovery path; a Schema alone only covers writes, and recovery then
    # fails to read the keys back. States written by Faust's JSON codec read back the same.
    run_table = app.Table(
        "runs", partitions=settings.topic_partitions, key_type=bytes, value_type=bytes, options=ROCKSDB_OPTIONS
    )

    async def reject(key: bytes | None, value: bytes, source: Source, reason: str, message: str) -> None:
        logger.warning(
            "dead-lettered event reason=%s topic=%s partition=%s offset=%s: %s",
            reason,
            source.topic,
            source.partition,
            source.offset,
            message,
        )
        letter = dead_letter(value, reason, message, source.topic, source.partition, source.offset)
        await dlq.send(key=key, value=letter)
        metrics.DEAD_LETTERS.labels(settings.dlq_topic, reason).inc()
        metrics.RECORDS_PRODUCED.labels(settings.dlq_topic).inc()

    # Events taken leniently, counted once each, where they are first decoded (``route``).
    leniency_log = LeniencyLog()
    run_states: dict[str, Any] = {}  # lineage_run_events_total's series, by state, looked up once

    @app.agent(events, name="route")
    async def route_agent(stream: faust.StreamT) -> None:
        async for batch in stream.take_events(  # type: ignore[attr-defined]  # not in StreamT
            ROUTE_BATCH, within=ROUTE_WITHIN_SECONDS
        ):
            # The batch's valid events, by the runs partition their key belongs to, sent as one
            # message per partition (lineage.routed_batch).
            placed: dict[tuple[int, str], list[tuple[bytes, faust.EventT]]] = {}
            for event in batch:
                try:
                    key = await route_one(event)
                except Exception as exc:  # noqa: BLE001  # on_fatal logs it and ends the process
                    on_fatal(exc, event)
                    continue
                if key is not None:
                    placed.setdefault((partitions.of_run(key), event.message.topic), []).append((key, event))
            for (partition, topic), routed in placed.items():
                entries = [(key, e.value, e.message.partition, e.message.offset) for key, e in routed]
                done = 0
                for chunk in routed_batch.chunks(topic, entries, ROUTED_BATCH_BYTES):
                    done += len(chunk)
                    try:
                        await runs.send(key=None, value=routed_batch.pack(topic, chunk), partition=partition)
                    except Exception as exc:  # noqa: BLE001  # on_fatal logs it and ends the process
                        on_fatal(exc, routed[done - 1][1])
                    metrics.RECORDS_PRODUCED.labels(settings.runs_topic).inc()
            metrics.RECORDS_CONSUMED.labels(settings.events_topic).inc(len(batch))

    async def route_one(event: faust.EventT) -> bytes | None:
        """The key the event goes on with, or None when it was dead-lettered."""
        msg = event.message
        try:
            routed = route(event.value or b"", settings.max_event_bytes)
        except Exception as exc:
            logger.exception("routing failed")
            routed = Rejected("processing-error", f"{type(exc).__name__}: {exc}")
        if isinstance(routed, Rejected):
            here = Source(msg.topic, msg.partition, msg.offset)
            await reject(event.key, event.value or b"", here, routed.reason, routed.message)
            return None
        if routed.leniencies:
            leniency_log.record(routed.leniencies, msg.topic, msg.partition, msg.offset)
            for kind in routed.leniencies:
                metrics.LENIENCIES.labels(kind).inc()
        metrics.EVENTS_ROUTED.inc()
        if routed.run_state is not None:
            counted = run_states.get(routed.run_state)
            if counted is None:
                counted = run_states[routed.run_state] = metrics.RUN_EVENTS.labels(routed.run_state)
            counted.inc()
        return routed.key

    recently_sent = RecentlySent(RECENTLY_SENT_CAPACITY)

    stall_watch = StallWatch()
    warned: set[Any] = set()

    @app.on_partitions_revoked.connect
    async def forget_sent(app: faust.App, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        recently_sent.forget()  # see stream_processor.recently_sent
        stall_watch.forget()
        warned.clear()

    @app.timer(interval=STALL_CHECK_SECONDS)
    async def watch_partitions() -> None:
        """Say when a partition this worker holds stops moving; exit when it stays so (stall_watch)."""
        timeout = settings.processor_stall_timeout
        recovery: Any = app.tables.recovery  # type: ignore[attr-defined]  # on Faust's TableManager, not its type
        if timeout <= 0 or app.rebalancing or not recovery.completed.is_set():
            return
        consumer: Any = app.consumer  # Faust's Consumer: its offset bookkeeping is not on ConsumerT
        tps = [tp for tp in consumer.assignment() if tp.topic in (settings.events_topic, settings.runs_topic)]
        if not tps:
            return
        try:
            ends = await asyncio.wait_for(consumer.highwaters(*tps), STALL_CHECK_SECONDS)
        except Exception:  # noqa: BLE001  # Kafka does not answer: nothing to judge by
            return
        committed = consumer._committed_offset  # Faust's own bookkeeping: what it will commit from
        offsets = {tp: (committed.get(tp), ends[tp]) for tp in tps if tp in ends}
        for stuck in stall_watch.observe(offsets, time.monotonic()):
            tp: Any = stuck.partition
            acked = consumer._acked.get(tp) or []
            detail = (
                f"topic={tp.topic} partition={tp.partition} committed={stuck.committed} end={stuck.end} "
                f"lag={stuck.end - (stuck.committed or 0)} read={consumer._read_offset.get(tp)} "
                f"acked_from={min(acked) if acked else None}"
            )
            if stuck.seconds >= timeout:
                on_fatal(WorkerStuck(f"no progress for {stuck.seconds:.0f} s: {detail}"), None)
            elif stuck.seconds >= timeout / 2 and tp not in warned:
                warned.add(tp)
                logger.warning(
                    "partition stopped moving for %.0f s with records waiting: %s; the worker exits to be "
                    "restarted at %.0f s (LINEAGE_PROCESSOR_STALL_TIMEOUT)",
                    stuck.seconds,
                    detail,
                    timeout,
                )

    if health is not None:
        watched = health

        @app.timer(interval=HEALTH_CHECK_SECONDS)
        async def report_health() -> None:
            """Alive while the event loop turns; ready once in the group with recovery done."""
            watched.beat()
            recovery: Any = app.tables.recovery  # type: ignore[attr-defined]  # on Faust's TableManager
            if app.rebalancing:
                watched.not_ready("rebalancing", "the consumer group is reassigning partitions")
            elif not recovery.completed.is_set() or recovery.in_recovery:
                watched.not_ready("recovering", "reading the run-state changelog back")
            else:
                watched.ready()

    @app.agent(runs, name="merge")
    async def merge_agent(stream: faust.StreamT) -> None:
        # A batch at a time, folded per run (lineage.processing.apply_all): a run whose events
        # arrive together is loaded, stored, mapped and sent once. Faust acknowledges the batch's
        # messages after this loop's body is done with them, so offsets still follow the effects.
        async for batch in stream.take_events(  # type: ignore[attr-defined]  # not in StreamT
            MERGE_BATCH, within=MERGE_WITHIN_SECONDS
        ):
            started = time.perf_counter()
            entries: list[Entry] = []
            for message in batch:
                try:
                    entries += await _entries(message)
                except Exception as exc:  # noqa: BLE001  # a dead letter not sent: on_fatal ends the process
                    on_fatal(exc, message)
            # What the batch changed, per runs partition: sent as few messages as fit.
            out: dict[int, list[bytes]] = {}
            for group in _by_key(entries):
                try:
                    changes = await merge_group(group)
                except Exception as exc:  # noqa: BLE001  # on_fatal logs it and ends the process
                    on_fatal(exc, group[-1].carrier)
                out.setdefault(group[-1].carrier.message.partition, []).extend(changes)
            for partition, changes in out.items():
                # Each mutation fits (merge_group).
                change_sets, _ = split_change_sets(changes, CHANGE_SET_BYTES, CHANGE_SET_MUTATIONS)
                for change_set in change_sets:
                    try:
                        await graph.send(
                            key=b"runs-%d" % partition, value=change_set, partition=partitions.of_graph(partition)
                        )
                    except Exception as exc:  # noqa: BLE001  # on_fatal logs it and ends the process
                        on_fatal(exc, batch[-1])
                metrics.RECORDS_PRODUCED.labels(settings.graph_topic).inc(len(change_sets))
                metrics.CHANGE_SETS_SENT.inc(len(change_sets))
                metrics.MUTATIONS_SENT.inc(len(changes))
            metrics.RECORDS_CONSUMED.labels(settings.runs_topic).inc(len(batch))
            metrics.EVENTS_MERGED.inc(len(entries))
            metrics.MERGE_SECONDS.observe(time.perf_counter() - started)

    async def _entries(message: faust.EventT) -> list[Entry]:
        """The events a runs-topic message carries: a routed batch, or one event as it was."""
        msg, value = message.message, message.value or b""
        here = Source(msg.topic, msg.partition, msg.offset)
        if not routed_batch.is_batch(value):
            return [Entry(message, message.key or b"", value, here, msg.offset)]
        try:
            routed = routed_batch.unpack(value)
            if len(routed) > POSITIONS_PER_MESSAGE:
                raise routed_batch.BadBatch(f"{len(routed)} events, over {POSITIONS_PER_MESSAGE}")
        except routed_batch.BadBatch as exc:
            kept = value[:BAD_BATCH_KEPT_BYTES]
            why = f"a runs-topic message that is not a batch of events: {exc}" + (
                f" (the first {len(kept)} of its {len(value)} bytes are kept here)" if len(kept) < len(value) else ""
            )
            await reject(message.key, kept, here, "bad-batch", why)
            return []
        # An event's position: after every event of earlier messages, and after those before it
        # in its own (lineage.processing: a position at or below the stored one is a redelivery).
        base = msg.offset * POSITIONS_PER_MESSAGE
        return [Entry(message, key, body, source, base + index) for index, (key, body, source) in enumerate(routed)]

    states = StateCache(STATE_CACHE_RUNS)

    async def merge_group(group: list[Entry]) -> list[bytes]:
        """Fold the events of one key taken in one batch and return the mutations to send; one
        event at a time when that fails or the state would be too large to store, so that only
        the events at fault are dead-lettered."""
        # Table writes go to the changelog partition of the current event: the group's own.
        last = group[-1]
        _current_event.set(weakref.ref(last.carrier))
        key = last.key
        stored: bytes | None = run_table.get(key)
        try:
            folded = apply_all(states.load(key, stored), [(e.value, e.position) for e in group])
        except Exception as exc:
            if len(group) == 1:
                logger.exception("processing failed run=%s", key)
                await reject(last.key, last.value, last.source, "processing-error", f"{type(exc).__name__}: {exc}")
                return []
            folded = None  # one at a time, to find the event at fault
        if folded is None or (folded.stored is not None and len(folded.stored) > STATE_BYTES and len(group) > 1):
            changes: list[bytes] = []
            for entry in group:
                changes += await merge_group([entry])
            return changes
        for index, invalid in folded.invalid:
            await reject(group[index].key, group[index].value, group[index].source, invalid.reason, invalid.message)
        if folded.stored is not None and len(folded.stored) > STATE_BYTES:
            # The run keeps its stored state from before this event; a later event is merged onto
            # that, and stored and sent if the result fits. A redelivery still re-sends the run's
            # full state (what its first delivery sent may have been lost).
            await reject(
                last.key,
                last.value,
                last.source,
                "state-too-large",
                f"with this event the run's state would be {len(folded.stored)} bytes, over the "
                f"{STATE_BYTES}-byte limit of a changelog message; it was not stored"
                + ("" if folded.redelivered else " nor sent on"),
            )
            if not folded.redelivered:
                return []
        elif folded.stored is not None:
            run_table[key] = folded.stored
            states.keep(key, folded.stored, folded.state)
        changes = [encoded for encoded in folded.changes if recently_sent.first_time(encoded) or folded.redelivered]
        # Within Kafka's message limit: a run's full state, sent again on a redelivery, can outgrow it.
        too_large = [encoded for encoded in changes if too_large_for_a_change_set(encoded, CHANGE_SET_BYTES)]
        fits = [encoded for encoded in changes if not too_large_for_a_change_set(encoded, CHANGE_SET_BYTES)]
        if too_large:
            largest = max(too_large, key=len)
            await reject(
                last.key,
                last.value,
                last.source,
                "output-too-large",
                f"{len(too_large)} graph mutation(s) this event maps to exceed the {CHANGE_SET_BYTES}-byte "
                f"message limit (the largest: {len(largest)} bytes, starting {largest[:200]!r}) and were "
                "not sent; the rest of its changes were",
            )
        return fits

    return Processor(app, route_agent, merge_agent, events, dlq, runs, graph, run_table, leniency_log, partitions)


class Entry(NamedTuple):
    """One event of a runs-topic message (``carrier``): its key, its bytes, where it was first read,
    and its position on the runs topic (the message's offset, times POSITIONS_PER_MESSAGE plus its
    index for an event in a routed batch)."""

    carrier: faust.EventT
    key: bytes
    value: bytes
    source: Source
    position: int


class Partitions:
    """How many partitions the runs and graph topics have, and where things go on them.

    The route puts a run's events on the runs partition Kafka's default partitioner gives the
    run's key (as a keyed send did, so runs stay where their state is); the merge sends what one
    runs partition changed to one graph partition, so a run's change sets stay in order. The
    worker sets the counts it finds on the brokers (``stream_processor.worker``)."""

    def __init__(self, runs: int, graph: int) -> None:
        self.runs, self.graph = runs, graph

    def of_run(self, key: bytes) -> int:
        return (murmur2(key) & 0x7FFFFFFF) % self.runs

    def of_graph(self, runs_partition: int) -> int:
        return runs_partition % self.graph


def _by_key(entries: list[Entry]) -> list[list[Entry]]:
    """A batch's events grouped by partition and key, in order of first appearance; each group in
    the order its events were read."""
    groups: dict[tuple[int, bytes], list[Entry]] = {}
    for entry in entries:
        groups.setdefault((entry.carrier.message.partition, entry.key), []).append(entry)
    return list(groups.values())


def _instance(configured: str) -> str | None:
    return None if configured.strip().lower() in ("", "none") else configured.strip()


def all_topics(settings: Settings) -> list[str]:
    return [settings.events_topic, settings.dlq_topic, settings.runs_topic, settings.graph_topic]
