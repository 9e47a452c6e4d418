// Left-to-right layered layout with elkjs: upstream on the left, downstream on the right.
import ELK from "elkjs/lib/elk-api.js";
import type { ElkExtendedEdge, ElkNode } from "elkjs/lib/elk-api";
import elkWorkerUrl from "elkjs/lib/elk-worker.min.js?url";
import type { GraphModel, Point } from "./model";
import { MORE_HEIGHT, MORE_WIDTH, NODE_HEIGHT, NODE_WIDTH } from "./model";

// The layout runs in a web worker, so a large graph never freezes the page.
const elk = new ELK({ workerUrl: elkWorkerUrl });

const BASE_OPTIONS: Record<string, string> = {
  "elk.algorithm": "layered",
  "elk.direction": "RIGHT",
  "elk.layered.spacing.nodeNodeBetweenLayers": "70",
  "elk.spacing.nodeNode": "22",
  "elk.spacing.componentComponent": "60",
  "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
  "elk.layered.nodePlacement.bk.fixedAlignment": "BALANCED",
  "elk.separateConnectedComponents": "true",
};

/** Small graphs get the careful crossing minimisation; large ones a fast pass (500 nodes in well under a second). */
function layoutOptions(nodeCount: number): Record<string, string> {
  if (nodeCount <= 120) return BASE_OPTIONS;
  return {
    ...BASE_OPTIONS,
    "elk.layered.thoroughness": "1",
    "elk.layered.crossingMinimization.greedySwitch.type": "OFF",
    "elk.edgeRouting": "POLYLINE",
  };
}

interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

function sizeOf(id: string): { width: number; height: number } {
  return id.startsWith("more:") ? { width: MORE_WIDTH, height: MORE_HEIGHT } : { width: NODE_WIDTH, height: NODE_HEIGHT };
}

/** All drawable edges (including "+K more" links) as [source, target] pairs. */
export function layoutEdges(model: GraphModel): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const e of model.edges.values()) out.push([e.source, e.target]);
  for (const [id, c] of model.more) out.push(c.side === "downstream" ? [c.node, id] : [id, c.node]);
  return out;
}

export function allIds(model: GraphModel): string[] {
  return [...model.nodes.keys(), ...model.more.keys()];
}

async function runElk(ids: string[], edges: Array<[string, string]>): Promise<Map<string, Point>> {
  const set = new Set(ids);
  const graph: ElkNode = {
    id: "root",
    layoutOptions: layoutOptions(ids.length),
    children: ids.map((id) => ({ id, ...sizeOf(id) })),
    edges: edges
      .filter(([s, t]) => set.has(s) && set.has(t) && s !== t)
      .map(([s, t], i): ElkExtendedEdge => ({ id: `e${i}`, sources: [s], targets: [t] })),
  };
  const res = await elk.layout(graph);
  const pos = new Map<string, Point>();
  for (const c of res.children ?? []) pos.set(c.id, { x: c.x ?? 0, y: c.y ?? 0 });
  return pos;
}

/** Lays out the whole graph from scratch. */
export async function layoutAll(model: GraphModel): Promise<Map<string, Point>> {
  return runElk(allIds(model), layoutEdges(model));
}

function rectOf(id: string, p: Point): Rect {
  const s = sizeOf(id);
  return { x: p.x, y: p.y, w: s.width, h: s.height };
}

function overlaps(a: Rect, b: Rect, gap: number): boolean {
  return a.x < b.x + b.w + gap && b.x < a.x + a.w + gap && a.y < b.y + b.h + gap && b.y < a.y + a.h + gap;
}

/**
 * Places nodes that were just added without moving any node already on screen: each connected group of
 * new nodes is laid out with elk together with the existing node it hangs from (its anchor), moved so the
 * anchor stays where it is, then shifted up or down until it overlaps nothing.
 */
export async function placeNewNodes(model: GraphModel, newIds: string[], preferredAnchor: string | null): Promise<Map<string, Point>> {
  const positions = new Map(model.positions);
  const fresh = new Set(newIds.filter((id) => !positions.has(id)));
  if (fresh.size === 0) return positions;
  if (positions.size === 0) return layoutAll(model);

  const edges = layoutEdges(model);
  const adj = new Map<string, string[]>();
  for (const [s, t] of edges) {
    (adj.get(s) ?? adj.set(s, []).get(s)!).push(t);
    (adj.get(t) ?? adj.set(t, []).get(t)!).push(s);
  }

  const placed: Rect[] = [...positions].map(([id, p]) => rectOf(id, p));
  const seen = new Set<string>();
  for (const start of fresh) {
    if (seen.has(start)) continue;
    // Connected group of new nodes.
    const group: string[] = [];
    const stack = [start];
    seen.add(start);
    let anchor: string | null = null;
    while (stack.length) {
      const id = stack.pop()!;
      group.push(id);
      for (const n of adj.get(id) ?? []) {
        if (fresh.has(n)) {
          if (!seen.has(n)) {
            seen.add(n);
            stack.push(n);
          }
        } else if (positions.has(n) && (anchor === null || n === preferredAnchor)) {
          anchor = n;
        }
      }
    }
    const ids = anchor ? [...group, anchor] : group;
    const local = await runElk(ids, edges);
    let dx: number;
    let dy: number;
    if (anchor) {
      const a = local.get(anchor)!;
      const target = positions.get(anchor)!;
      dx = target.x - a.x;
      dy = target.y - a.y;
    } else {
      // Unattached: below everything on screen.
      const bottom = placed.reduce((m, r) => Math.max(m, r.y + r.h), 0);
      const left = placed.reduce((m, r) => Math.min(m, r.x), Number.POSITIVE_INFINITY);
      dx = Number.isFinite(left) ? left : 0;
      dy = bottom + 80;
    }
    const rects = group.map((id) => {
      const p = local.get(id) ?? { x: 0, y: 0 };
      return { id, rect: rectOf(id, { x: p.x + dx, y: p.y + dy }) };
    });
    const step = NODE_HEIGHT / 2 + 12;
    let shift = 0;
    for (let i = 0; i < 400; i++) {
      shift = i === 0 ? 0 : (i % 2 === 1 ? 1 : -1) * Math.ceil(i / 2) * step;
      const clash = rects.some(({ rect }) => placed.some((p) => overlaps({ ...rect, y: rect.y + shift }, p, 14)));
      if (!clash) break;
    }
    for (const { id, rect } of rects) {
      const p = { x: rect.x, y: rect.y + shift };
      positions.set(id, p);
      placed.push(rectOf(id, p));
    }
  }
  return positions;
}
