"""HTTP ingest throughput and latency: `lineage ingest` as its own process, loaded by concurrent
clients posting realistic events; every 201 means Kafka acknowledged the event (acks=all).

Needs Kafka (the local stack, `lineage stack up`, or LINEAGE_KAFKA_BOOTSTRAP). Writes to a fresh
uuid-named topic. The load comes from `wrk` when it is installed (Debian: apt-get install wrk),
else from an httpx client in this process, which saturates a core by itself at a few hundred
requests/s and so measures the client more than the server.
Run: .venv/bin/python bench/http_ingest.py [EVENTS] [CONCURRENCY]
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from lineage_cli.environment import component_settings
from lineage_stack.processes import free_port, wait_until

EVENT = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "openlineage"
    / "events"
    / "real"
    / "other"
    / "client-python"
    / "example_full_event.json"
).read_bytes()


async def load(url: str, events: int, concurrency: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    failures = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(events):
        queue.put_nowait(i)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal failures
        while not queue.empty():
            queue.get_nowait()
            start = time.perf_counter()
            response = await client.post(url, content=EVENT, headers={"Content-Type": "application/json"})
            latencies.append(time.perf_counter() - start)
            failures += response.status_code != 201

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return time.perf_counter() - start, latencies, failures


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    settings = component_settings()
    port = free_port()
    env = dict(
        os.environ,
        LINEAGE_KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
        LINEAGE_INGEST_PORT=str(port),
        LINEAGE_INGEST_METRICS_PORT="0",
        LINEAGE_EVENTS_TOPIC=f"bench-{uuid.uuid4().hex[:8]}.openlineage.events",
        LINEAGE_LOG_LEVEL="WARNING",
    )
    server = subprocess.Popen([sys.executable, "-m", "lineage_cli", "ingest"], env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        if not wait_until(lambda: _healthy(base), 60):
            sys.exit("lineage ingest did not become healthy; is Kafka up (`lineage stack up`)?")
        asyncio.run(load(f"{base}/api/v1/lineage", 200, concurrency))  # warm-up
        if shutil.which("wrk"):
            print(wrk(f"{base}/api/v1/lineage", concurrency))
            return
        seconds, latencies, failures = asyncio.run(load(f"{base}/api/v1/lineage", events, concurrency))
    finally:
        server.terminate()
        server.wait(30)
    cuts = statistics.quantiles(latencies, n=100)
    print(f"{events} events of {len(EVENT)} bytes, {concurrency} concurrent clients, Kafka {settings.kafka_bootstrap}")
    print(
        f"  {events / seconds:,.0f} events/s acknowledged; latency p50 {cuts[49] * 1000:.1f} ms, "
        f"p99 {cuts[98] * 1000:.1f} ms; non-201 answers: {failures}"
    )


def wrk(url: str, concurrency: int, seconds: int = 20) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        body = json.dumps(EVENT.decode())
        script.write(f'wrk.method = "POST"\nwrk.body = {body}\nwrk.headers["Content-Type"] = "application/json"\n')
    result = subprocess.run(
        ["wrk", "-t2", f"-c{concurrency}", f"-d{seconds}s", "--latency", "-s", script.name, url],
        capture_output=True,
        text=True,
        check=True,
    )
    os.unlink(script.name)
    return f"wrk, {concurrency} connections, {seconds} s, events of {len(EVENT)} bytes:\n{result.stdout}"


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    main()
