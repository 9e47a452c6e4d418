"""The Neo4j writer: one verb, ``write``, for a batch of graph mutations.

``write`` runs all statements of a batch in one managed write transaction. The driver may run
that transaction more than once (on transient errors or a lost leader), which is safe because
every statement is a MERGE on a key under a uniqueness constraint followed by a full-state SET.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import neo4j
from neo4j.exceptions import ClientError, DriverError, Neo4jError

from lineage.mutations import AnyMutation, MutationDict
from sinks.batches import Statement, plan
from sinks.cypher import schema_statements

logger = logging.getLogger(__name__)


class Neo4jUnavailable(RuntimeError):
    """Neo4j could not be reached or refused the credentials; the message says what to do."""


class Neo4jGraphWriter:
    def __init__(self, driver: neo4j.Driver, database: str = "neo4j") -> None:
        self._driver = driver
        self._database = database

    def verify(self, uri: str) -> None:
        """Fail fast, with a clear message, when Neo4j is not reachable."""
        try:
            self._driver.verify_connectivity()
        except (DriverError, Neo4jError) as exc:
            raise Neo4jUnavailable(
                f"cannot reach Neo4j at {uri} ({exc}). Start the local stack with `lineage stack up`, "
                "or set LINEAGE_NEO4J_URI (and LINEAGE_NEO4J_USER / LINEAGE_NEO4J_PASSWORD)."
            ) from exc

    def ensure_schema(self) -> None:
        """Create the constraints and indexes of the graph model (idempotent)."""
        for name, statement in schema_statements():
            try:
                self._driver.execute_query(statement, database_=self._database)
            except ClientError as exc:
                if exc.code == "Neo.ClientError.Database.DatabaseNotFound":
                    raise Neo4jUnavailable(
                        f"Neo4j has no database {self._database!r}; set LINEAGE_NEO4J_DATABASE to an existing "
                        "one (Neo4j Community has only 'neo4j')"
                    ) from exc
                # A constraint creation interrupted part-way can leave its backing index
                # behind without the constraint; drop that orphan and create both again.
                if exc.code != "Neo.ClientError.Schema.IndexWithNameAlreadyExists":
                    raise
                logger.warning("recreating constraint %s over an orphaned index", name)
                self._driver.execute_query(f"DROP INDEX {name} IF EXISTS", database_=self._database)
                self._driver.execute_query(statement, database_=self._database)

    def write(self, mutations: Sequence[AnyMutation | MutationDict]) -> int:
        """Write a batch in one transaction; returns the number of statements run."""
        statements = plan(mutations)
        if not statements:
            return 0
        with self._driver.session(database=self._database) as session:
            session.execute_write(_run_all, statements)
        return len(statements)


def _run_all(tx: neo4j.ManagedTransaction, statements: list[Statement]) -> None:
    for query, rows in statements:
        tx.run(query, rows=rows).consume()
