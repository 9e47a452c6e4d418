"""Ranking what search finds: exact, prefix, substring; and the index query it sends."""

from __future__ import annotations

import pytest

from queries.search import Found, _rank, lucene_query, match_kind


@pytest.mark.parametrize(
    ("typed", "name", "expected"),
    [
        ("orders", "shop.public.orders", "exact"),  # the last part of a dotted name
        ("ORDERS", "warehouse/orders", "exact"),  # case and a path's last part
        ("shop.public.orders", "shop.public.orders", "exact"),
        ("orders", "analytics.public.orders_daily", "prefix"),  # of the last part
        ("daily", "analytics.public.orders_daily", "prefix"),  # of a word in it
        ("shop", "shop.public.orders", "prefix"),
        ("rders", "shop.public.orders", "substring"),
        ("public orders", "shop.public.orders", "substring"),  # every word typed, in any place
        ("invoices", "shop.public.orders", None),  # the index matched a word; the name does not hold it
        ("x", None, None),
    ],
)
def test_how_a_name_matches_what_was_typed(typed: str, name: str | None, expected: str | None) -> None:
    assert match_kind(typed, name) == expected


def test_the_index_query_asks_for_every_word_as_part_of_a_word() -> None:
    assert lucene_query("Orders") == "*orders*"
    assert lucene_query("shop.public ORDERS_2024 shop") == "*shop.public* AND *orders_2024* AND *shop*"
    assert lucene_query("2024") == "*2024*"
    # What the analyzer splits words at separates them here; no Lucene syntax passes.
    assert lucene_query("s3://lake/orders.") == "*s3* AND *lake* AND *orders*"
    assert lucene_query("a:b*(c)~") == "*a* AND *b* AND *c*"
    assert lucene_query(" ./-") is None


def test_exact_matches_come_first_then_prefixes_then_substrings_shorter_names_first() -> None:
    found = [
        Found("dataset", "db", "x.orders_archive", None, "prefix"),
        Found("column", "db", "t", "orders", "exact"),
        Found("dataset", "db", "x.old_orders", None, "substring"),
        Found("job", "etl", "orders_daily", None, "prefix"),
        Found("dataset", "db", "x.orders", None, "exact"),
    ]
    assert [(f.name, f.field) for f in sorted(found, key=_rank)] == [
        ("t", "orders"),
        ("x.orders", None),
        ("orders_daily", None),
        ("x.orders_archive", None),
        ("x.old_orders", None),
    ]
