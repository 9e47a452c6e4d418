"""What the sink and the query commands say when Neo4j refuses them."""

from __future__ import annotations

from neo4j.exceptions import Neo4jError, ServiceUnavailable

from sinks.neo4j_writer import unavailable


def test_refused_credentials_name_the_user_and_the_settings() -> None:
    refused = Neo4jError._hydrate_neo4j(
        code="Neo.ClientError.Security.Unauthorized",
        message="The client is unauthorized due to authentication failure.",
    )
    error = unavailable(refused, "neo4j+s://abc.databases.neo4j.io", "lineage")
    assert str(error) == (
        "Neo4j at neo4j+s://abc.databases.neo4j.io refused the credentials for user lineage (The client is "
        "unauthorized due to authentication failure.): check LINEAGE_NEO4J_USER / LINEAGE_NEO4J_PASSWORD"
    )


def test_an_unreachable_server_is_one_line_naming_the_address() -> None:
    error = unavailable(
        ServiceUnavailable("Couldn't connect to x:7687\nFailed to establish connection"), "bolt://x:7687"
    )
    assert "\n" not in str(error)
    assert str(error).startswith("cannot reach Neo4j at bolt://x:7687 (Couldn't connect to x:7687 Failed")
