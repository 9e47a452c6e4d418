"""Canonical JSON: one text for one value, whatever order its producer wrote the keys in.

Keys sorted, no spaces, characters kept as they are (not escaped), so that Cypher's CONTAINS
finds a name as the producer wrote it. It is the text of a facet in Neo4j and what a facet
version's digest is taken over (``lineage.merge.StampedFacet``), so it must not depend on the
codec: orjson writes it; the few values orjson refuses (integers beyond 64 bits) are written by
the standard library in the same form.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def canonical_json(value: Any) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
