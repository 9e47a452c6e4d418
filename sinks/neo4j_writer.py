"""The Neo4j writer: one verb, ``write``, for a batch of graph mutations.

``write`` runs all statements of a batch in one managed write transaction. The driver may run
that transaction more than once (on transient errors or a lost leader), which is safe because
every statement is a MERGE on a key under a uniqueness constraint followed by a full-state SET.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import neo4j
from neo4j.exceptions import AuthError, ClientError, DriverError, Neo4jError

from lineage.mutations import AnyMutation, MutationDict
from sinks.batches import Statement, plan
from sinks.cypher import schema_statements

logger = logging.getLogger(__name__)


class Neo4jUnavailable(RuntimeError):
    """Neo4j could not be reached or refused the credentials; the message says what to do."""


def unavailable(exc: DriverError | Neo4jError, uri: str, user: str | None = None) -> Neo4jUnavailable:
    """The one-line error for a failed ``verify_connectivity``: refused credentials apart from an
    unreachable server, since only the first is fixed by LINEAGE_NEO4J_USER / LINEAGE_NEO4J_PASSWORD."""
    reason = " ".join(str(exc).split())  # the driver's messages span lines
    if isinstance(exc, AuthError):
        who = f"user {user}" if user else "the driver"
        return Neo4jUnavailable(
            f"Neo4j at {uri} refused the credentials for {who} ({' '.join((exc.message or reason).split())}): "
            "check LINEAGE_NEO4J_USER / LINEAGE_NEO4J_PASSWORD"
        )
    return Neo4jUnavailable(
        f"cannot reach Neo4j at {uri} ({reason}). Start the local stack with `lineage stack up`, "
        "or set LINEAGE_NEO4J_URI (and LINEAGE_NEO4J_USER / LINEAGE_NEO4J_PASSWORD)."
    )


class Neo4jGraphWriter:
    def __init__(self, driver: neo4j.Driver, database: str = "neo4j") -> None:
        self._driver = driver
        self._database = database

    def verify(self, uri: str, user: str | None = None) -> None:
        """Fail fast, with a clear message, when Neo4j is not reachable or refuses ``user``."""
        try:
            self._driver.verify_connectivity()
        except (DriverError, Neo4jError) as exc:
            raise unavailable(exc, uri, user) from exc

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
