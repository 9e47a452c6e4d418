"""Search by part of a name: datasets, jobs and columns, ranked as people expect.

The words typed are looked up in the search indexes the sink creates (``SEARCH_INDEXES``): each
as a part of an indexed word (``*ord*``), all of them required. The indexes keep a name's words
whole with digits, underscores and dots, so ``orders_2024`` finds exactly that; they answer from
their term dictionary, so the cost follows the number of distinct words in names and the matches,
never a scan of the nodes. At most ``CANDIDATES`` matches per
kind are ranked here: exact (the whole name, or its last part after a dot or a slash), then
prefix, then substring; shorter names first within a rank.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

import neo4j
from neo4j.exceptions import ClientError

from lineage.graph_model import SEARCH_INDEXES

logger = logging.getLogger(__name__)

CANDIDATES = 200
MAX_RESULTS = 100
MAX_QUERY_CHARS = 200

Match = Literal["exact", "prefix", "substring"]
RANKS: dict[str, int] = {"exact": 0, "prefix": 1, "substring": 2}


@dataclass(frozen=True)
class Found:
    kind: str  # "dataset", "job" or "column"
    namespace: str
    name: str  # for a column: its dataset's name
    field: str | None
    match: str


def search(driver: neo4j.Driver, text: str, limit: int = 20) -> dict[str, Any]:
    """The best ``limit`` matches for ``text``: ``{"query", "results": [Found as dict]}``."""
    if not 1 <= limit <= MAX_RESULTS:
        raise ValueError(f"limit must be between 1 and {MAX_RESULTS}, got {limit}")
    query = text.strip()
    if not query:
        raise ValueError("type part of a dataset, job or column name (parameter q)")
    if len(query) > MAX_QUERY_CHARS:
        raise ValueError(f"q is {len(query)} characters; at most {MAX_QUERY_CHARS}")
    lucene = lucene_query(query)
    if lucene is None:  # no letters or digits: nothing an index can match
        return {"query": query, "results": []}
    read = neo4j.RoutingControl.READ
    found: list[Found] = []
    for label, (index, prop) in SEARCH_INDEXES.items():
        try:
            records = driver.execute_query(
                "CALL db.index.fulltext.queryNodes($index, $query, {limit: $limit}) YIELD node "
                "RETURN node.namespace AS namespace, node.name AS name, node.field AS field",
                {"index": index, "query": f"{prop}:({lucene})", "limit": CANDIDATES},
                routing_=read,
            ).records
        except ClientError as exc:
            # A graph whose sink predates the index: the other kinds are still found.
            logger.warning("search cannot use index %s (%s); a sink of this version creates it", index, exc.message)
            continue
        kind = "column" if label == "Field" else label.lower()
        for r in records:
            how = match_kind(query, r[prop])
            if how is not None:
                found.append(Found(kind, r["namespace"], r["name"], r["field"], how))
    ranked = sorted(found, key=_rank)[:limit]
    return {"query": query, "results": [asdict(f) for f in ranked]}


def lucene_query(text: str) -> str | None:
    """Every word of ``text`` as a part of an indexed word; None when it has no word. A word is
    what the indexes' analyzer keeps together: letters, digits, underscores and inner dots, lower
    case; nothing else reaches the query (so no Lucene syntax can)."""
    words = [w.strip(".") for w in re.findall(r"[\w.]+", text.lower())]
    words = [w for w in words if w]
    if not words:
        return None
    return " AND ".join(f"*{w}*" for w in dict.fromkeys(words))


def match_kind(query: str, name: str | None) -> Match | None:
    """How ``name`` matches what was typed (case-insensitive), or None if it does not contain it
    (the index matches words; what was typed may span several)."""
    if not name:
        return None
    q, n = query.lower(), name.lower()
    last = re.split(r"[./]", n)[-1]
    if n == q or last == q:
        return "exact"
    if n.startswith(q) or last.startswith(q) or any(part.startswith(q) for part in re.split(r"[./_\-\s]", n)):
        return "prefix"
    if q in n or all(word in n for word in q.split()):
        return "substring"
    return None


def _rank(found: Found) -> tuple[int, int, str, str, str]:
    shown = found.field if found.field is not None else found.name
    return (RANKS[found.match], len(shown), shown.lower(), found.namespace, found.name)
