"""Fixtures for tests against real Kafka and Neo4j.

Every test gets uuid-named topics and consumer groups and starts from an empty graph. Under
CI=true a missing service fails the test run instead of skipping it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import neo4j
import pytest

from lineage.settings import Settings
from tests.integration.components import isolated_settings
from tests.integration.services import Services, ServicesUnavailable, provide_services


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    try:
        with provide_services(tmp_path_factory.mktemp("services")) as found:
            yield found
    except ServicesUnavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"integration services unavailable under CI: {exc}", pytrace=False)
        pytest.skip(f"integration services unavailable: {exc}")


@pytest.fixture(scope="session")
def neo4j_driver(services: Services) -> Iterator[neo4j.Driver]:
    auth = (services.neo4j_user, services.neo4j_password) if services.neo4j_password else None
    with neo4j.GraphDatabase.driver(services.neo4j_uri, auth=auth, notifications_min_severity="OFF") as driver:
        driver.verify_connectivity()
        yield driver


@pytest.fixture
def empty_graph(neo4j_driver: neo4j.Driver) -> neo4j.Driver:
    """The driver, after the database has been emptied for this test (in batches, so that a
    large graph left by a benchmark does not exceed Neo4j's transaction memory)."""
    with neo4j_driver.session() as session:  # CALL ... IN TRANSACTIONS needs an implicit transaction
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
    return neo4j_driver


@pytest.fixture
def settings(services: Services, tmp_path: Path) -> Settings:
    """Settings pointing at the real services, with topics and groups of this test's own."""
    return isolated_settings(services, "test", tmp_path / "home")
