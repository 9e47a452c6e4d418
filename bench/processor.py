"""Stream-processor throughput on real Kafka: one `lineage process` worker pinned to one core.

Publishes the workload (bench/workload.py; 10% of the events sent twice, all shuffled, so runs
arrive out of order) to fresh uuid-named topics first, then starts one worker and times it from
its first routed batch (the earliest record on the runs topic) until every event has been routed
and merged (the processor group's committed offsets reach the end of the events topic and of the
runs topic). Prints events/s, and how many graph mutations the change-only output sent per event.

Needs Kafka (the local stack, `lineage stack up`, or LINEAGE_KAFKA_BOOTSTRAP).
Run: .venv/bin/python -m bench.processor [EVENTS] [--json FILE]; with BENCH_PROFILE=FILE and
py-spy installed, 20 s of the worker's stacks are also recorded to FILE (collapsed stacks).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from bench.common import PARTITIONS, Pipeline, arguments, first_written, peak_rss_mib, progress, report, stop
from bench.workload import Topology, events
from lineage.mutations import decode_change_set
from lineage_cli.environment import component_settings
from producers.publisher import EventPublisher


def graph_output(bootstrap: str, topic: str) -> tuple[int, int]:
    """(messages, mutations) on the graph topic."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-read-{uuid.uuid4().hex[:8]}"})
    try:
        parts = [TopicPartition(topic, p, 0) for p in range(PARTITIONS)]
        end = sum(consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in parts)
        consumer.assign(parts)
        messages = mutations = 0
        while messages < end:
            for msg in consumer.consume(1000, 5):
                if msg.error() is None:
                    messages += 1
                    mutations += len(decode_change_set(msg.value() or b"")[0])
        return messages, mutations
    finally:
        consumer.close()


def run(count: int, datasets: int = 4000, jobs: int = 1500, seed: int = 1) -> dict[str, Any]:
    """Publish ``count`` workload events (plus 10% sent twice) to fresh topics, then time one worker."""
    settings = component_settings()
    home = Path(tempfile.mkdtemp(prefix="bench-processor-"))
    pipeline = Pipeline.fresh(settings, home)
    s = pipeline.settings
    rng = random.Random(seed)
    sent = list(events(Topology(datasets, jobs, seed), count, seed))
    sent += rng.sample(sent, len(sent) // 10)  # redelivered by producers: duplicates
    rng.shuffle(sent)
    size = sum(len(json.dumps(e)) for e in sent) / len(sent)
    with EventPublisher(s.kafka_bootstrap, s.events_topic) as publisher:
        publisher.publish(sent)
    print(f"{len(sent):,} events (10% duplicates, {size:,.0f} bytes each, shuffled) on {PARTITIONS} partitions")

    worker = pipeline.start("process", home / "process.log", core=0)
    profile = os.environ.get("BENCH_PROFILE")
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if profile and spy:  # 20 s of the worker's stacks, collapsed, into that file
        subprocess.Popen([spy, "record", "-o", profile, "-f", "raw", "-d", "20", "-p", str(worker.pid)])
    try:
        first = last_print = None
        deadline = time.monotonic() + max(600.0, len(sent) / 50)
        while True:
            time.sleep(1)
            if time.monotonic() > deadline:
                sys.exit(f"the worker did not finish in time; see {home / 'process.log'}")
            if worker.poll() is not None:
                sys.exit(f"the worker exited with code {worker.returncode}; see {home / 'process.log'}")
            # Routed events are committed on the events topic; the merge's progress is the runs
            # topic's, whose messages each hold a routed batch of events.
            routed, routed_end = progress(s.kafka_bootstrap, s.processor_group, [s.events_topic])
            merged, merge_end = progress(s.kafka_bootstrap, s.processor_group, [s.runs_topic])
            now = time.monotonic()
            if routed and first is None:
                first = (now, routed)
            if first and (last_print is None or now - last_print >= 10):
                rss_now = peak_rss_mib(worker.pid, "VmRSS") or 0
                print(
                    f"  {routed:,}/{len(sent):,} events routed, {merged:,}/{merge_end:,} routed batches merged, "
                    f"RSS {rss_now:.0f} MiB",
                    flush=True,
                )
                last_print = now
            if routed_end >= len(sent) and routed >= routed_end and merged >= merge_end:
                ended = time.time()
                break
        # From its first routed batch (start-up is not counted) to its last commit.
        began = first_written(s.kafka_bootstrap, s.runs_topic)
        seconds = ended - (began or ended)
        rate = len(sent) / seconds
        rss = peak_rss_mib(worker.pid)
        messages, mutations = graph_output(s.kafka_bootstrap, s.graph_topic)
        print(
            f"one worker, one core: {rate:,.0f} events/s (routed and merged) over {seconds:.1f} s; "
            f"{messages:,} change sets with {mutations:,} mutations sent ({mutations / len(sent):.1f} per event); "
            f"peak RSS {rss or 0:.0f} MiB"
        )
    finally:
        stop(worker)
    shutil.rmtree(home, ignore_errors=True)  # kept, with the worker's log, when it failed
    return {
        "events": len(sent),
        "seconds": round(seconds, 1),
        "events_per_s": round(rate, 1),
        "change_sets": messages,
        "mutations_per_event": round(mutations / len(sent), 2),
        "peak_rss_mib": rss,
    }


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("events", type=int, nargs="?", default=20_000)
    args = parser.parse_args()
    report(run(args.events), args.json)


if __name__ == "__main__":
    main()
