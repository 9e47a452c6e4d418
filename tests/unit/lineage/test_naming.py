"""Dataset identity normalisation (lineage.naming) and the aliases facets make."""

from __future__ import annotations

import json
from uuid import UUID

import pytest

from lineage.events import decode_event
from lineage.graph_mapping import dataset_event_mutations, run_mutations
from lineage.keys import DatasetKey
from lineage.merge import merge_event
from lineage.mutations import EdgeUpsert, NodeUpsert
from lineage.naming import is_uuid, normalize, run_key, split_dataset


@pytest.mark.parametrize(
    ("namespace", "name", "expected"),
    [
        ("POSTGRESQL://DB.Example.com", "shop.Public.Orders", ("postgres://db.example.com:5432", "shop.Public.Orders")),
        (
            "postgres://db.example.com:5432",
            "shop.Public.Orders",
            ("postgres://db.example.com:5432", "shop.Public.Orders"),
        ),
        ("mysql://db", "sales.orders", ("mysql://db:3306", "sales.orders")),
        ("kafka://broker-1", "events", ("kafka://broker-1:9092", "events")),
        ("s3a://my-bucket/", "/warehouse/orders/", ("s3://my-bucket", "warehouse/orders")),
        ("s3://my-bucket", "warehouse/orders", ("s3://my-bucket", "warehouse/orders")),
        ("gcs://Bucket", "a/b", ("gs://bucket", "a/b")),
        ("hdfs://NameNode:8020", "/user//hive/warehouse/t1/", ("hdfs://namenode:8020", "/user/hive/warehouse/t1")),
        ("file://", "/tmp/data/", ("file", "/tmp/data")),
        ("file", "/tmp/data", ("file", "/tmp/data")),
        (
            "abfss://Container@Account.dfs.core.windows.net",
            "/dir/f",
            ("abfss://Container@account.dfs.core.windows.net", "dir/f"),
        ),
        ("bigquery", "proj.dataset.Table", ("bigquery", "proj.dataset.Table")),
        ("arn:aws:glue:us-east-1:123", "table/db/t", ("arn:aws:glue:us-east-1:123", "table/db/t")),
        ("  snowflake://ORG-ACCOUNT  ", " DB.S.T ", ("snowflake://org-account", "DB.S.T")),
    ],
)
def test_normalize(namespace: str, name: str, expected: tuple[str, str]) -> None:
    assert normalize(namespace, name) == DatasetKey(*expected)


def test_normalize_is_idempotent() -> None:
    for namespace, name in [("POSTGRESQL://H", "d.s.t"), ("s3a://b/", "/k/"), ("file://", "/x//y/")]:
        once = normalize(namespace, name)
        assert normalize(once.namespace, once.name) == once


def test_different_datasets_stay_different() -> None:
    assert normalize("postgres://h:5433", "d.s.t") != normalize("postgres://h", "d.s.t")
    assert normalize("s3://b", "Key") != normalize("s3://b", "key")  # object keys are case-sensitive
    assert normalize("hdfs://h:8020", "/a") != normalize("file", "/a")


EVENT = {
    "eventType": "COMPLETE",
    "eventTime": "2026-11-20T10:00:00Z",
    "run": {"runId": "2d7e9a1c-3b1f-4f5e-8a6b-9c0d1e2f3a4b"},
    "job": {"namespace": "spark", "name": "etl"},
    "producer": "https://example.test/p",
    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
}


def edges(mutations: list[NodeUpsert | EdgeUpsert], rel: str) -> set[tuple[tuple[str, ...], tuple[str, ...]]]:
    return {(m.start.sort_key(), m.end.sort_key()) for m in mutations if isinstance(m, EdgeUpsert) and m.type == rel}


def test_two_spellings_of_one_table_are_one_dataset() -> None:
    event = EVENT | {
        "inputs": [{"namespace": "postgresql://DB:5432", "name": "shop.public.orders"}],
        "outputs": [{"namespace": "postgres://db", "name": "shop.public.orders"}],
    }
    mutations = run_mutations(merge_event(None, decode_event(json.dumps(event))))  # type: ignore[arg-type]
    target = ("Dataset", "postgres://db:5432", "shop.public.orders")
    assert {end for _, end in edges(mutations, "READ")} == {target}
    assert {end for _, end in edges(mutations, "WROTE")} == {target}


def test_symlinks_make_the_path_an_alias_of_the_table() -> None:
    symlinks = {"identifiers": [{"namespace": "hive://metastore:9083", "name": "db.orders", "type": "TABLE"}]}
    event = EVENT | {
        "outputs": [{"namespace": "s3a://lake/", "name": "/warehouse/orders", "facets": {"symlinks": symlinks}}]
    }
    mutations = run_mutations(merge_event(None, decode_event(json.dumps(event))))  # type: ignore[arg-type]
    assert edges(mutations, "ALIAS_OF") == {
        (("Dataset", "s3://lake", "warehouse/orders"), ("Dataset", "hive://metastore:9083", "db.orders"))
    }
    assert {end for _, end in edges(mutations, "WROTE")} == {("Dataset", "s3://lake", "warehouse/orders")}


def test_a_rename_makes_the_old_name_an_alias_of_the_new() -> None:
    event = {
        "eventTime": "2026-11-20T10:00:00Z",
        "producer": "https://example.test/p",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {
            "namespace": "postgres://db:5432",
            "name": "shop.public.orders_v2",
            "facets": {
                "lifecycleStateChange": {
                    "lifecycleStateChange": "RENAME",
                    "previousIdentifier": {"namespace": "postgresql://DB", "name": "shop.public.orders"},
                }
            },
        },
    }
    mutations = dataset_event_mutations(decode_event(json.dumps(event)))  # type: ignore[arg-type]
    assert edges(mutations, "ALIAS_OF") == {
        (
            ("Dataset", "postgres://db:5432", "shop.public.orders"),
            ("Dataset", "postgres://db:5432", "shop.public.orders_v2"),
        )
    }


def test_a_symlink_to_itself_is_no_alias() -> None:
    symlinks = {"identifiers": [{"namespace": "S3://lake", "name": "/t", "type": "LOCATION"}]}
    event = EVENT | {"outputs": [{"namespace": "s3://lake", "name": "t", "facets": {"symlinks": symlinks}}]}
    mutations = run_mutations(merge_event(None, decode_event(json.dumps(event))))  # type: ignore[arg-type]
    assert edges(mutations, "ALIAS_OF") == set()


@pytest.mark.parametrize(
    ("text", "namespace", "name"),
    [
        ("postgresql://DB/shop.public.orders", "postgres://db:5432", "shop.public.orders"),
        ("postgres://db:5432/shop.public.orders", "postgres://db:5432", "shop.public.orders"),
        ("s3a://lake/warehouse/orders_clean/", "s3://lake", "warehouse/orders_clean"),
        ("file:///data/x.csv", "file", "/data/x.csv"),
        ("hdfs://nn:8020/warehouse/t", "hdfs://nn:8020", "/warehouse/t"),
        ("kafka://broker:9092/orders", "kafka://broker:9092", "orders"),
        ("bigquery/project.dataset.table", "bigquery", "project.dataset.table"),
        ("  awsathena://athena.us-east-1.amazonaws.com/db.t  ", "awsathena://athena.us-east-1.amazonaws.com", "db.t"),
    ],
)
def test_a_dataset_named_in_one_string_is_split_and_normalised(text: str, namespace: str, name: str) -> None:
    assert split_dataset(text) == DatasetKey(namespace, name)


@pytest.mark.parametrize("text", ["orders", "postgres://db:5432", "postgres://db/", "/orders", "bigquery/", ""])
def test_a_string_that_names_no_dataset_says_how_to_name_one(text: str) -> None:
    with pytest.raises(ValueError, match="give its namespace and name, or one string such as"):
        split_dataset(text)


def test_run_ids_of_text_get_marquezs_uuid_and_uuids_stay_themselves() -> None:
    # Java's UUID.nameUUIDFromBytes("unique-run-id".getBytes(UTF_8)), which Marquez uses.
    assert run_key("unique-run-id") == UUID("2b38ee04-5f4e-3a1a-8c4a-05999e9e51eb")
    assert run_key("unique-run-id").version == 3
    assert run_key("0D4B7A4E-7E3C-4B7A-9D7E-1F0A2B3C4D5E") == UUID("0d4b7a4e-7e3c-4b7a-9d7e-1f0a2b3c4d5e")
    assert run_key(" 0d4b7a4e-7e3c-4b7a-9d7e-1f0a2b3c4d5e").version == 3  # text to Marquez too
    assert run_key("run 1") != run_key("run 2")
    assert is_uuid("0d4b7a4e-7e3c-4b7a-9d7e-1f0a2b3c4d5e") and not is_uuid("scheduled__2024-01-01")
    assert not is_uuid("0d4b7a4e7e3c4b7a9d7e1f0a2b3c4d5e")
