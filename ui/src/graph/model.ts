// The graph being explored: nodes, edges and "+K more" entries, merged from /lineage answers.
import type { CollapsedEntry, LineageEdge, LineageNode, LineageResponse, NodeKind, RunSummary, Side } from "../api";
import { nodeKey } from "../api";

export interface Point {
  x: number;
  y: number;
}

export interface GraphEdge extends LineageEdge {
  /** Drawn by the explorer to connect a node it added (e.g. a root-cause suspect), not from /lineage. */
  inferred?: string;
}

export interface GraphModel {
  centerId: string | null;
  nodes: Map<string, LineageNode>;
  edges: Map<string, GraphEdge>;
  /** "+K more" entries keyed by moreId(node, side). */
  more: Map<string, CollapsedEntry>;
  positions: Map<string, Point>;
  /** `${nodeId}|${side}` for sides already expanded. */
  expanded: Set<string>;
}

export const NODE_WIDTH = 280;
export const NODE_HEIGHT = 76;
export const MORE_WIDTH = 150;
export const MORE_HEIGHT = 40;

export function emptyModel(): GraphModel {
  return { centerId: null, nodes: new Map(), edges: new Map(), more: new Map(), positions: new Map(), expanded: new Set() };
}

export function moreId(nodeId: string, side: Side): string {
  return `more:${side}:${nodeId}`;
}

export function edgeKey(e: Pick<LineageEdge, "source" | "target" | "type">): string {
  return `${e.source}\u0000${e.target}\u0000${e.type}`;
}

export function keyOf(n: Pick<LineageNode, "kind" | "namespace" | "name">): string {
  return nodeKey(n.kind, n.namespace, n.name);
}

export function findByKey(model: GraphModel, kind: NodeKind, namespace: string, name: string): LineageNode | undefined {
  const k = nodeKey(kind, namespace, name);
  for (const n of model.nodes.values()) if (keyOf(n) === k) return n;
  return undefined;
}

export interface MergeResult {
  model: GraphModel;
  /** Ids (nodes and "+K more" nodes) that were not in the graph before. */
  added: string[];
}

/** Merges a /lineage answer into the model; existing nodes keep their positions. */
export function mergeLineage(model: GraphModel, res: Pick<LineageResponse, "nodes" | "edges" | "collapsed">): MergeResult {
  const nodes = new Map(model.nodes);
  let edges = new Map(model.edges);
  const more = new Map(model.more);
  const positions = new Map(model.positions);
  const added: string[] = [];

  // A node the explorer drew itself ("local:" id) is replaced by the real one when it arrives.
  const localByKey = new Map<string, string>();
  for (const n of nodes.values()) if (n.id.startsWith("local:")) localByKey.set(keyOf(n), n.id);

  for (const n of res.nodes) {
    const prev = nodes.get(n.id);
    const local = localByKey.get(keyOf(n));
    if (local && local !== n.id) {
      nodes.delete(local);
      const pos = positions.get(local);
      positions.delete(local);
      if (pos) positions.set(n.id, pos);
      edges = renameInEdges(edges, local, n.id);
    } else if (!prev) {
      added.push(n.id);
    }
    // Keep hops/side from the first answer (relative to the centre); refresh run and write info.
    nodes.set(n.id, prev ? { ...n, hops: prev.hops, side: prev.side } : n);
  }
  for (const e of res.edges) {
    if (!nodes.has(e.source) || !nodes.has(e.target)) continue;
    edges.set(edgeKey(e), e);
  }
  for (const c of res.collapsed) {
    if (!nodes.has(c.node)) continue;
    const id = moreId(c.node, c.side);
    if (!more.has(id) && !positions.has(id)) added.push(id);
    more.set(id, c);
  }
  return { model: { ...model, nodes, edges, more, positions }, added };
}

function renameInEdges(edges: Map<string, GraphEdge>, from: string, to: string): Map<string, GraphEdge> {
  const out = new Map<string, GraphEdge>();
  for (const e of edges.values()) {
    const ne = { ...e, source: e.source === from ? to : e.source, target: e.target === from ? to : e.target };
    out.set(edgeKey(ne), ne);
  }
  return out;
}

/** The edge between a node and one of its neighbours on a side (datasets feed jobs, jobs produce datasets). */
export function neighbourEdge(node: LineageNode, neighbour: LineageNode, side: Side, inferred?: string): GraphEdge {
  const [source, target] = side === "downstream" ? [node, neighbour] : [neighbour, node];
  const type = source.kind === "dataset" ? "CONSUMES" : "PRODUCES";
  return { id: `local:${source.id}>${target.id}`, source: source.id, target: target.id, type, lastSeen: null, inferred };
}

/** Adds one node picked from a "+K more" list next to its parent; the "+K more" count drops by one. */
export function addNeighbour(model: GraphModel, parentId: string, side: Side, item: LineageNode): MergeResult {
  const parent = model.nodes.get(parentId);
  if (!parent) return { model, added: [] };
  const already = model.nodes.has(item.id);
  const { model: merged, added } = mergeLineage(model, {
    nodes: [{ ...item, side, hops: (parent.hops ?? 0) + 1 }],
    edges: [],
    collapsed: [],
  });
  const e = neighbourEdge(parent, merged.nodes.get(item.id) ?? item, side);
  merged.edges.set(edgeKey(e), e);
  if (!already) {
    const id = moreId(parentId, side);
    const entry = merged.more.get(id);
    if (entry) {
      if (entry.count <= 1) {
        merged.more.delete(id);
        merged.positions.delete(id);
      } else merged.more.set(id, { ...entry, count: entry.count - 1 });
    }
  }
  return { model: merged, added };
}

/** A node the explorer adds itself, for something the API names without giving its graph id. */
export function localNode(kind: NodeKind, namespace: string, name: string, latestRun?: RunSummary | null): LineageNode {
  return {
    id: `local:${nodeKey(kind, namespace, name)}`,
    kind,
    namespace,
    name,
    latestRun: kind === "job" ? (latestRun ?? null) : undefined,
    lastWrittenAt: kind === "dataset" ? null : undefined,
    schemaChanged: kind === "dataset" ? false : undefined,
  };
}
