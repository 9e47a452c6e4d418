"""The Neo4j graph model: labels, their keys, and the relationships between them.

This is a public interface (users write Cypher against it; docs/graph-model.md). The sink
builds its MERGE statements from these tables only, so a label or relationship type that is
not listed here can never reach a Cypher string.
"""

from __future__ import annotations

from typing import Literal

Label = Literal["Job", "Run", "Dataset", "Field"]
RelType = Literal[
    "INSTANCE_OF",
    "READ",
    "WROTE",
    "CONSUMES",
    "PRODUCES",
    "CHILD_OF",
    "PART_OF",
    "HAS_FIELD",
    "DERIVED_FROM",
    "ALIAS_OF",
]

NODE_KEYS: dict[str, tuple[str, ...]] = {
    "Job": ("namespace", "name"),
    "Run": ("runId",),
    "Dataset": ("namespace", "name"),
    "Field": ("namespace", "name", "field"),
}

RELATIONSHIPS: dict[str, tuple[str, str]] = {
    "INSTANCE_OF": ("Run", "Job"),
    "READ": ("Run", "Dataset"),
    "WROTE": ("Run", "Dataset"),
    "CONSUMES": ("Job", "Dataset"),
    "PRODUCES": ("Job", "Dataset"),
    "CHILD_OF": ("Run", "Run"),
    "PART_OF": ("Job", "Job"),
    "HAS_FIELD": ("Dataset", "Field"),
    "DERIVED_FROM": ("Field", "Field"),
    "ALIAS_OF": ("Dataset", "Dataset"),
}

# Properties that hold instants. Mutations carry them as ISO-8601 strings; the sink stores them
# as Neo4j DATETIME values so that Cypher can compare and do arithmetic on them.
DATETIME_PROPERTIES = frozenset(
    {"startedAt", "endedAt", "nominalStartTime", "nominalEndTime", "firstSeen", "lastSeen", "schemaAt"}
)

# Every facet of a node is kept whole as JSON text in ``facet_<name>`` (e.g. ``facet_schema``).
FACET_PREFIX = "facet_"
# A property many sources write (facets, a Field's type) has its winning version's stamp,
# ``UTC eventTime|event-type rank|digest``, in ``_stamp_<property>``.
STAMP_PREFIX = "_stamp_"

# Full-text (Lucene) indexes over a dataset's or job's namespace and name, label -> index name,
# with the analyzer that splits them into words of letters: names found by a word, or a misspelt
# one, for the similar names a lookup that found nothing suggests. The sink creates them.
NAME_SEARCH_INDEXES = {"Dataset": "dataset_names", "Job": "job_names"}
# Full-text indexes for search (``queries.search``), label -> (index, the property it holds): a
# dataset's or job's name, a column's. Their analyzer keeps a name's words whole with their digits,
# underscores and dots (``orders_2024``, ``shop.public.orders``), lower-cased, so that any part of
# a name is found as part of a word. The sink creates them.
SEARCH_INDEXES = {
    "Dataset": ("dataset_search", "name"),
    "Job": ("job_search", "name"),
    "Field": ("field_search", "field"),
}
SEARCH_ANALYZER = "standard-no-stop-words"
