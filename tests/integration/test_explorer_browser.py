"""The lineage explorer in real Chromium, on the real pipeline: `lineage process`, `lineage sink`
and `lineage api` (serving the built UI) as a user runs them, over the workload of the query
tests (an Airflow DAG whose task launches a Spark job, dbt models, a failed sync upstream of a
failed Spark job upstream of a failed dbt model, column lineage with a hashed email) plus a
wide fan-out: 30 dashboards read the daily mart, past the explorer's 25 a side.

Each test asserts on what the page shows and saves a screenshot of it (in LINEAGE_SCREENSHOTS,
or the test's temporary directory). Chromium is Debian's (``/usr/bin/chromium``, or
LINEAGE_CHROMIUM); under CI=true a missing Chromium or an unbuilt UI fails instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import neo4j
import pytest
from pydantic import SecretStr

from bench.common import CHROMIUM_FLAGS
from lineage.settings import Settings
from producers.publisher import EventPublisher
from producers.topics import ensure_topics
from queries.explorer_assets import UI_DIR
from stream_processor.app import all_topics
from tests.integration.components import isolated_settings, logs, running, wait_for
from tests.integration.test_queries import CRM, DAILY, EVENTS, LAKE_KEY, ORDERS, RUN, SPARK, event
from tests.integration.workloads import settled

READERS = 30  # dashboards reading the daily mart: past the explorer's fan-out limit of 25
FANOUT = [
    event("COMPLETE", "look1", ("looker", f"dashboard_{i:02d}"), f"2026-11-20T04:{i:02d}:00Z", inputs=[DAILY])
    for i in range(READERS)
]
TIMEOUT_MS = 20_000


def _needed(what: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests under CI: {what}", pytrace=False)
    pytest.skip(what)


def _chromium() -> str:
    path = os.environ.get("LINEAGE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        _needed(f"no Chromium at {path} (Debian: apt-get install chromium; or set LINEAGE_CHROMIUM)")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def explorer(neo4j_driver: neo4j.Driver, services: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The explorer's address, with the pipeline built from the workload and the API serving it."""
    if not (UI_DIR / "index.html").is_file():
        _needed(f"the explorer is not built ({UI_DIR}): run `make ui`")
    tmp = tmp_path_factory.mktemp("explorer")
    base = isolated_settings(services, "ui", tmp / "home")
    settings: Settings = base.model_copy(update={"api_port": _free_port()})
    neo4j_driver.execute_query("MATCH (n) DETACH DELETE n")
    ensure_topics(settings.kafka_bootstrap, all_topics(settings), settings.topic_partitions)
    # FANOUT reuses one run id per dashboard would merge them: give each its own run.
    fanout = [{**e, "run": {**e["run"], "runId": f"0192f000-0000-7000-8000-{i:012d}"}} for i, e in enumerate(FANOUT)]
    with running(settings, "process", "sink", "api", log_dir=tmp / "logs") as procs:
        with EventPublisher(settings.kafka_bootstrap, settings.events_topic) as publisher:
            publisher.publish([*EVENTS, *fanout])
        expected = len(RUN) + READERS
        wait_for(
            lambda: (
                len(neo4j_driver.execute_query("MATCH (r:Run) WHERE r.state IS NOT NULL RETURN r").records) == expected
            ),
            120,
            "every run in Neo4j",
            lambda: logs(tmp / "logs"),
            procs,
        )
        settled(neo4j_driver)
        address = f"http://{settings.api_host}:{settings.api_port}"
        wait_for(lambda: _answers(address), 30, "the API to answer", lambda: logs(tmp / "logs"), procs)
        yield address


def _answers(address: str) -> bool:
    try:
        return httpx.get(f"{address}/api/v1/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="chromium-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=executable, args=CHROMIUM_FLAGS, viewport={"width": 1480, "height": 900}
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    page.close()
    assert errors == [], f"errors in the page: {errors}"


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("LINEAGE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def lineage_url(address: str, kind: str, namespace: str, name: str, **more: Any) -> str:
    return f"{address}/?" + urlencode({"kind": kind, "namespace": namespace, "name": name, **more})


def graph_ready(page: Any) -> None:
    page.wait_for_selector('[data-testid="graph"][data-state="ready"]')


def node(page: Any, kind: str, name: str) -> Any:
    return page.locator(f'[data-testid="node"][data-kind="{kind}"][data-name="{name}"]')


def position(page: Any, name: str) -> str:
    """Where a node sits in the graph's own coordinates (its wrapper's transform), whatever the zoom."""
    card = page.locator(f'[data-testid="node"][data-name="{name}"]')
    return str(
        page.locator(f'[data-testid="rf__node-{card.get_attribute("data-node-id")}"]').evaluate(
            "e => e.style.transform"
        )
    )


def shown_nodes(page: Any) -> set[tuple[str, str]]:
    cards = page.locator('[data-testid="node"]')
    return {
        (cards.nth(i).get_attribute("data-kind"), cards.nth(i).get_attribute("data-name")) for i in range(cards.count())
    }


def test_search_finds_a_table_by_part_of_its_name_and_opens_its_lineage(explorer: str, page: Any, shots: Path) -> None:
    page.goto(explorer)
    page.get_by_test_id("search-input").fill("orders_da")
    result = page.locator('[data-testid="search-result"][data-name="analytics.public.orders_daily"]')
    result.wait_for()
    page.screenshot(path=shots / "search.png")
    results = page.locator('[data-testid="search-result"]')
    top = {(results.nth(i).get_attribute("data-kind"), results.nth(i).get_attribute("data-name")) for i in range(2)}
    assert top == {("dataset", DAILY["name"]), ("job", "analytics.orders_daily")}  # prefix matches, shortest first
    result.click()
    graph_ready(page)
    assert "name=analytics.public.orders_daily" in page.url
    # Its neighbours at the default depth: the model writing it, what that reads; readers past 25 collapse.
    assert {("job", "analytics.orders_daily"), ("dataset", "warehouse.orders_clean")} <= shown_nodes(page)
    more = page.locator('[data-testid="more-node"][data-side="downstream"]')
    assert more.get_attribute("data-count") == str(READERS + 1 - 25)  # the dashboards and the revenue one
    page.screenshot(path=shots / "graph.png")
    page.go_back()
    page.get_by_test_id("start-page").wait_for()


def test_expanding_a_node_adds_its_next_hop_and_keeps_the_rest(explorer: str, page: Any, shots: Path) -> None:
    page.goto(lineage_url(explorer, "dataset", **ORDERS, depth=1, direction="downstream"))
    graph_ready(page)
    before = shown_nodes(page)
    assert before == {("dataset", ORDERS["name"]), ("job", "clean_orders"), ("job", "backfill_orders")}
    spark = node(page, "job", "clean_orders")
    placed = {n: position(page, n) for n in ("clean_orders", "backfill_orders", ORDERS["name"])}
    spark.get_by_test_id("expand-downstream").click()
    node(page, "dataset", LAKE_KEY[1]).wait_for()
    after = shown_nodes(page)
    assert before < after and ("dataset", "warehouse.orders_clean") in after  # the path's table beside it
    assert {n: position(page, n) for n in placed} == placed  # the rest stays where it was
    page.screenshot(path=shots / "expanded.png")


def test_the_fan_out_past_the_limit_is_a_more_node_whose_list_finds_the_rest(
    explorer: str, page: Any, shots: Path
) -> None:
    page.goto(lineage_url(explorer, "dataset", **DAILY, depth=1, direction="downstream"))
    graph_ready(page)
    assert len([n for n in shown_nodes(page) if n[0] == "job"]) == 25
    more = page.locator('[data-testid="more-node"]')
    assert more.get_attribute("data-count") == "6"
    more.click()
    panel = page.get_by_test_id("neighbours-panel")
    panel.wait_for()
    page.wait_for_function(
        f"document.querySelector('[data-testid=neighbours-total]')?.dataset.total === '{READERS + 1}'",
        timeout=TIMEOUT_MS,
    )
    page.get_by_test_id("neighbours-filter").fill("dashboard_0")
    page.wait_for_function(
        "document.querySelector('[data-testid=neighbours-total]').dataset.total === '10'", timeout=TIMEOUT_MS
    )
    page.screenshot(path=shots / "more.png")


def test_why_did_this_fail_highlights_the_known_suspects(explorer: str, page: Any, shots: Path) -> None:
    page.goto(lineage_url(explorer, "job", "dbt", "analytics.orders_daily", depth=2))
    graph_ready(page)
    assert node(page, "job", "analytics.orders_daily").get_attribute("data-state") == "FAILED"
    page.get_by_test_id("root-cause-button").click()
    suspects = page.locator('[data-testid="suspect"]')
    suspects.first.wait_for()
    assert [suspects.nth(i).get_attribute("data-run-id") for i in range(suspects.count())] == [
        RUN["spark2"],
        RUN["sync2"],
    ]
    for kind, name in (("job", "clean_orders"), ("job", "sync_orders")):
        node(page, kind, name).wait_for()
        page.wait_for_function(
            "([k, n]) => document.querySelector(`[data-testid=node][data-kind='${k}'][data-name='${n}']`)"
            "?.dataset.highlight === 'cause'",
            arg=[kind, name],
            timeout=TIMEOUT_MS,
        )
    assert "OutOfMemoryError" in page.get_by_test_id("root-cause-panel").inner_text()
    page.screenshot(path=shots / "root-cause.png")


def test_what_is_affected_downstream_counts_and_highlights(explorer: str, page: Any, shots: Path) -> None:
    page.goto(lineage_url(explorer, "dataset", **ORDERS, depth=2))
    graph_ready(page)
    page.get_by_test_id("impact-button").click()
    summary = page.get_by_test_id("impact-summary")
    summary.wait_for()
    # Within 5 hops: the lake path and its table, both marts, the revenue dashboard (datasets);
    # clean_orders, backfill_orders, both dbt models, the revenue dashboard and the 30 dashboards (jobs).
    assert (summary.get_attribute("data-datasets"), summary.get_attribute("data-jobs")) == ("5", str(5 + READERS))
    page.wait_for_function(
        "document.querySelector(\"[data-testid=node][data-name='clean_orders']\")?.dataset.highlight === 'affected'",
        timeout=TIMEOUT_MS,
    )
    page.screenshot(path=shots / "impact.png")


def test_a_column_shows_the_columns_it_comes_from_with_masking(explorer: str, page: Any, shots: Path) -> None:
    page.goto(lineage_url(explorer, "dataset", **DAILY, depth=1))
    graph_ready(page)
    node(page, "dataset", DAILY["name"]).click()
    page.locator('[data-testid="column-row"][data-field="email_hash"]').click()
    rows = page.locator('[data-testid="column-lineage-row"][data-side="upstream"]')
    rows.first.wait_for()
    found = {
        (rows.nth(i).get_attribute("data-name"), rows.nth(i).get_attribute("data-field")) for i in range(rows.count())
    }
    assert found == {(LAKE_KEY[1], "email_hash"), (ORDERS["name"], "email")}
    masked = page.locator(
        f'[data-testid="column-lineage-row"][data-name="{ORDERS["name"]}"][data-field="email"]'
    ).get_attribute("data-masking")
    assert masked == "true"
    page.screenshot(path=shots / "column.png")


def test_details_of_a_job_and_its_failed_run(explorer: str, page: Any, shots: Path) -> None:
    page.goto(lineage_url(explorer, "job", *SPARK, depth=1))
    graph_ready(page)
    details = page.get_by_test_id("job-details")
    details.wait_for()
    runs = page.locator('[data-testid="run-row"]')
    assert [runs.nth(i).get_attribute("data-run-id") for i in range(runs.count())] == [
        RUN["spark3"],
        RUN["spark2"],
        RUN["spark1"],
    ]
    page.screenshot(path=shots / "job.png")
    page.locator(f'[data-testid="run-row"][data-run-id="{RUN["spark2"]}"]').click()
    run = page.get_by_test_id("run-details")
    run.wait_for()
    assert "OutOfMemoryError" in page.get_by_test_id("run-error").inner_text()
    assert ORDERS["name"] in page.get_by_test_id("run-inputs").inner_text()
    page.screenshot(path=shots / "run.png")
    page.go_back()
    page.get_by_test_id("job-details").wait_for()
    # A dataset whose latest write changed its schema says so on its node.
    page.goto(lineage_url(explorer, "dataset", **CRM, depth=1))
    graph_ready(page)
    node(page, "dataset", CRM["name"]).get_by_test_id("schema-changed").wait_for()


READ_KEY = "reader-3f9c2e"


@pytest.fixture(scope="module")
def keyed_explorer(explorer: str, services: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second `lineage api` on the graph `explorer` built, with read keys on, and an ingest key
    (to send events) that is not a read key."""
    tmp = tmp_path_factory.mktemp("keyed-explorer")
    settings = isolated_settings(services, "ui-keys", tmp / "home").model_copy(
        update={
            "api_port": _free_port(),
            "read_api_keys": SecretStr(f"{READ_KEY},another-reader"),
            "ingest_api_keys": SecretStr("sender-only"),
        }
    )
    with running(settings, "api", log_dir=tmp / "logs") as procs:
        address = f"http://{settings.api_host}:{settings.api_port}"
        wait_for(lambda: _answers(address), 30, "the keyed API to answer", lambda: logs(tmp / "logs"), procs)
        yield address
    assert READ_KEY not in logs(tmp / "logs") and "sender-only" not in logs(tmp / "logs")  # keys are never logged


def test_with_read_keys_the_explorer_asks_for_a_key_refuses_a_wrong_one_and_reads_with_the_right_one(
    keyed_explorer: str, page: Any, shots: Path
) -> None:
    bare = httpx.get(f"{keyed_explorer}/api/v1/search", params={"q": "orders"}, timeout=10)
    assert bare.status_code == 401 and bare.json()["reason"] == "missing-api-key"
    page.goto(keyed_explorer)
    prompt = page.get_by_test_id("api-key-prompt")
    prompt.wait_for()
    assert "API key" in prompt.inner_text()
    page.screenshot(path=shots / "key-prompt.png")
    page.get_by_test_id("api-key-input").fill("sender-only")  # a key to send events is no key to read
    page.get_by_test_id("api-key-submit").click()
    refused = page.get_by_test_id("api-key-error")
    refused.wait_for()
    assert "refused" in refused.inner_text()
    assert page.evaluate("window.sessionStorage.getItem('lineage.readApiKey')") is None
    page.screenshot(path=shots / "key-refused.png")
    page.get_by_test_id("api-key-input").fill(READ_KEY)
    page.get_by_test_id("api-key-submit").click()
    prompt.wait_for(state="detached")
    assert page.evaluate("window.sessionStorage.getItem('lineage.readApiKey')") == READ_KEY
    page.get_by_test_id("search-input").fill("orders_da")
    page.locator('[data-testid="search-result"][data-name="analytics.public.orders_daily"]').wait_for()
    page.screenshot(path=shots / "key-search.png")
    # The key stays for the tab: a deep link opens the lineage without asking again.
    page.goto(lineage_url(keyed_explorer, "dataset", **DAILY, depth=1))
    graph_ready(page)
    assert page.get_by_test_id("api-key-prompt").count() == 0
    # A key the server no longer takes (rotated away) is dropped, and the prompt says it was refused.
    page.evaluate("window.sessionStorage.setItem('lineage.readApiKey', 'rotated-away')")
    page.reload()
    page.get_by_test_id("api-key-error").wait_for()
    assert "refused" in page.get_by_test_id("api-key-error").inner_text()
    assert page.evaluate("window.sessionStorage.getItem('lineage.readApiKey')") is None
    page.get_by_test_id("api-key-input").fill(READ_KEY)
    page.get_by_test_id("api-key-submit").click()
    graph_ready(page)
    # "Forget API key" drops it, and the prompt asks again (nothing refused this time).
    page.get_by_test_id("api-key-forget").click()
    page.get_by_test_id("api-key-prompt").wait_for()
    assert page.get_by_test_id("api-key-error").count() == 0
    assert page.evaluate("window.sessionStorage.getItem('lineage.readApiKey')") is None
