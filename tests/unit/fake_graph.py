"""An in-memory graph with the sink's write semantics (sinks.cypher), for pure tests.

Node ``props`` are set as given (None removes); a versioned property is written only if its
stamp is greater than the stored one; edges are merged on (type, start, end), props set.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lineage.mutations import EdgeUpsert, NodeUpsert


class FakeGraph:
    def __init__(self) -> None:
        self.nodes: dict[tuple[str, ...], dict[str, Any]] = {}
        self.stamps: dict[tuple[str, ...], dict[str, str]] = {}
        self.edges: dict[tuple[Any, ...], dict[str, Any]] = {}

    def write(self, mutations: Iterable[NodeUpsert | EdgeUpsert]) -> None:
        for m in mutations:
            if isinstance(m, NodeUpsert):
                self._node(m.node.sort_key(), m.props, m)
            else:
                self._node(m.start.sort_key(), {}, None)
                self._node(m.end.sort_key(), {}, None)
                edge = self.edges.setdefault((m.type, m.start.sort_key(), m.end.sort_key()), {})
                _set(edge, m.props)

    def _node(self, key: tuple[str, ...], props: dict[str, Any], upsert: NodeUpsert | None) -> None:
        node = self.nodes.setdefault(key, {})
        stamps = self.stamps.setdefault(key, {})
        _set(node, props)
        for name, version in (upsert.versioned if upsert else {}).items():
            if version.stamp > stamps.get(name, ""):
                stamps[name] = version.stamp
                _set(node, {name: version.value})

    def snapshot(self) -> tuple[dict[Any, Any], dict[Any, Any], dict[Any, Any]]:
        return self.nodes, self.stamps, self.edges


def _set(target: dict[str, Any], props: dict[str, Any]) -> None:
    for name, value in props.items():
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value
