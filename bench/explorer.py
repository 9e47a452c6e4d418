"""The lineage explorer's speed: its API on a large graph, and a 500-node graph laid out in Chromium.

Builds the synthetic layered graph of ``query_latency`` (about NODES nodes: 40% datasets, 30% jobs,
30% runs) directly in Neo4j, waits for its indexes, then:

- times the explorer's API routes in-process (request to JSON answer, Starlette's test client):
  search by part of a table's name, and the neighbourhood of a table at depth 5 in both
  directions (fan-out limit 25), from random starts; prints p50/p99;
- serves the API and the built UI (``ui/dist``: `make ui`) with uvicorn, finds a table whose
  neighbourhood at some depth has about 500 nodes, and opens it in Chromium (Debian's, headless)
  RUNS times, each in a fresh page: the time from the request to the laid-out graph painted, as the
  page records it (``window.__lineageTiming``: fetch, layout, total); prints min/median/max.

Needs Neo4j (the local stack, `lineage stack up`, or LINEAGE_NEO4J_URI); it empties the graph.
Run: .venv/bin/python -m bench.explorer [NODES] [--queries N] [--runs N] [--json FILE]
"""

from __future__ import annotations

import random
import shutil
import socket
import statistics
import tempfile
import threading
import time
from functools import partial
from typing import Any
from urllib.parse import urlencode

import neo4j
import uvicorn
from starlette.testclient import TestClient

from bench.common import CHROMIUM_FLAGS, arguments, graph_size, report
from bench.query_latency import LAYERS, build, timed
from lineage_cli.environment import component_settings
from queries.explorer_assets import UI_DIR
from queries.http_api import create_api

TARGET_NODES = 500


def _answered(response: Any) -> int:
    """How many results or nodes an API answer holds (a failed request stops the bench)."""
    assert response.status_code == 200, response.text
    body = response.json()
    return len(body["results"]) if "results" in body else len(body["nodes"])


def api_latency(driver: neo4j.Driver, names: list[str], queries: int, rng: random.Random) -> dict[str, Any]:
    client = TestClient(create_api(driver))
    # Part of a table's name as people type it: its number's first digits, or the layer's prefix.
    typed = [
        rng.choice((f"table_{name.rsplit('_', 1)[1][:3]}", name.split(".")[0], f"{name.rsplit('_', 1)[1]}"))
        for name in (rng.choice(names) for _ in range(queries))
    ]
    early = names[: len(names) // LAYERS * 4]
    starts = [rng.choice(early) for _ in range(queries)]

    def search(text: str) -> Any:
        return client.get("/api/v1/search", params={"q": text})

    def lineage(name: str) -> Any:
        params = {"kind": "dataset", "namespace": "warehouse", "name": name, "depth": "5", "direction": "both"}
        return client.get("/api/v1/lineage", params=params)

    return {
        "search": timed("search", [partial(search, q) for q in typed], _answered, "results"),
        "lineage_d5": timed("neighbourhood, depth 5", [partial(lineage, n) for n in starts], _answered, "nodes"),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def layout_in_chromium(driver: neo4j.Driver, names: list[str], runs: int, rng: random.Random) -> dict[str, Any]:
    chromium = shutil.which("chromium")
    if chromium is None or not (UI_DIR / "index.html").is_file():
        print("  layout in Chromium: skipped (needs Debian's chromium and the built UI: make ui)")
        return {"skipped": "no chromium or no built UI"}
    client = TestClient(create_api(driver))
    best: tuple[int, str, int] | None = None  # (distance from the target, name, depth)
    for name in rng.sample(names[: len(names) // 2], 40):
        for depth in (4, 6, 8, 10, 14, 20):
            params = {"kind": "dataset", "namespace": "warehouse", "name": name, "depth": str(depth)}
            count = len(client.get("/api/v1/lineage", params=params).json()["nodes"])
            if best is None or abs(count - TARGET_NODES) < best[0]:
                best = (abs(count - TARGET_NODES), name, depth)
    assert best is not None
    _, name, depth = best
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_api(driver), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    from playwright.sync_api import sync_playwright

    url = f"http://127.0.0.1:{port}/?" + urlencode(
        {"kind": "dataset", "namespace": "warehouse", "name": name, "depth": depth, "direction": "both"}
    )
    timings: list[dict[str, int]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="chromium-") as profile, sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile, executable_path=chromium, args=CHROMIUM_FLAGS, viewport={"width": 1480, "height": 900}
            )
            for _ in range(runs + 1):  # the first warms the caches
                page = context.new_page()
                page.goto(url)
                page.wait_for_function("window.__lineageTiming !== undefined", timeout=60_000)
                timings.append(page.evaluate("window.__lineageTiming"))
                page.close()
            context.close()
    finally:
        server.should_exit = True
        thread.join(10)
    timings = timings[1:]
    totals = sorted(t["totalMs"] for t in timings)
    layouts = sorted(t["layoutMs"] for t in timings)
    fetches = sorted(t["fetchMs"] for t in timings)
    nodes = timings[0]["nodes"]
    print(
        f"  {nodes} nodes (depth {depth}) in Chromium, request to painted graph: min {totals[0]} ms, median "
        f"{statistics.median(totals):.0f} ms, max {totals[-1]} ms ({runs} loads); of which layout median "
        f"{statistics.median(layouts):.0f} ms, fetch median {statistics.median(fetches):.0f} ms"
    )
    return {"nodes": nodes, "depth": depth, "total_ms": totals, "layout_ms": layouts, "fetch_ms": fetches}


def run(nodes: int, queries: int = 100, runs: int = 5, seed: int = 42) -> dict[str, Any]:
    datasets, jobs = int(nodes * 0.4), int(nodes * 0.3)
    settings = component_settings()
    rng = random.Random(seed)
    with neo4j.GraphDatabase.driver(settings.neo4j_uri, **settings.neo4j_driver_options) as driver:
        start = time.perf_counter()
        names = build(driver, datasets, jobs, rng)
        driver.execute_query("CALL db.awaitIndexes(600)")
        built = time.perf_counter() - start
        node_count, rel_count = graph_size(driver)
        print(f"graph: {node_count:,} nodes and {rel_count:,} relationships, built and indexed in {built:.0f} s")
        results: dict[str, Any] = {"nodes": node_count, "relationships": rel_count, "build_s": round(built, 1)}
        results["api"] = api_latency(driver, names, queries, rng)
        results["layout"] = layout_in_chromium(driver, names, runs, rng)
    return results


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("nodes", type=int, nargs="?", default=100_000, help="graph size, in nodes (default 100,000)")
    parser.add_argument("--queries", type=int, default=100, help="requests of each kind (default 100)")
    parser.add_argument("--runs", type=int, default=5, help="loads of the 500-node graph in Chromium (default 5)")
    args = parser.parse_args()
    report(run(args.nodes, args.queries, args.runs), args.json)


if __name__ == "__main__":
    main()
