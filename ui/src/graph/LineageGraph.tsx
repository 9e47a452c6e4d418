// The lineage graph on screen: React Flow with pan, zoom, controls and a minimap.
import { useEffect, useMemo } from "react";
import { Background, Controls, MarkerType, MiniMap, ReactFlow, ReactFlowProvider, useReactFlow } from "@xyflow/react";
import type { Edge, Node } from "@xyflow/react";
import type { LineageNode, Side } from "../api";
import type { GraphModel } from "./model";
import { MORE_HEIGHT, MORE_WIDTH, NODE_HEIGHT, NODE_WIDTH, keyOf } from "./model";
import type { EntityFlowNode, GraphActions, Highlight, MoreFlowNode } from "./NodeCards";
import { GraphActionsContext, nodeTypes } from "./NodeCards";

export interface LineageGraphProps {
  model: GraphModel;
  highlights: Map<string, Highlight>;
  selectedKey: string | null;
  busy: Map<string, Side>;
  /** Changes when the view should fit the whole graph (a new graph was laid out). */
  fitToken: number;
  focus: { ids: string[]; token: number };
  onSelect: (node: LineageNode) => void;
  actions: GraphActions;
}

const EDGE_COLOR = "#9aa5b8";
const EDGE_HL: Record<Highlight, string> = { cause: "#c2410c", affected: "#7c3aed", column: "#0f766e", origin: "#c2410c" };

/** Fits the whole graph when a new one is laid out, and brings given nodes into view on request. */
function Viewport({ token, focus, highlighted }: { token: number; focus: { ids: string[]; token: number }; highlighted: string }) {
  const rf = useReactFlow();
  useEffect(() => {
    if (token === 0) return;
    const id = requestAnimationFrame(() => void rf.fitView({ padding: 0.12, maxZoom: 1.1, duration: 0 }));
    return () => cancelAnimationFrame(id);
  }, [token, rf]);
  const show = (ids: string[]) => {
    if (ids.length === 0) return undefined;
    const id = requestAnimationFrame(() => void rf.fitView({ nodes: ids.map((i) => ({ id: i })), padding: 0.18, maxZoom: 1.1, duration: 300 }));
    return () => cancelAnimationFrame(id);
  };
  useEffect(() => show(focus.ids), [focus.token]);
  // When an analysis highlights nodes (or brings more of them in), show them all.
  useEffect(() => show(highlighted ? highlighted.split("\n") : []), [highlighted]);
  return null;
}

function minimapColor(n: Node): string {
  if (n.type === "more") return "#cbd2dd";
  const d = (n as EntityFlowNode).data;
  if (d.highlight === "cause" || d.highlight === "origin") return "#ea580c";
  if (d.highlight === "affected") return "#8b5cf6";
  if (d.highlight === "column") return "#14b8a6";
  if (d.node.kind === "job" && d.node.latestRun?.state === "FAILED") return "#dc2626";
  return d.node.kind === "job" ? "#94a3b8" : "#7a97d6";
}

function GraphCanvas(props: LineageGraphProps) {
  const { model, highlights, selectedKey, busy, fitToken, focus, onSelect, actions } = props;
  const dimming = highlights.size > 0;

  const nodes = useMemo<Node[]>(() => {
    const out: Node[] = [];
    for (const n of model.nodes.values()) {
      const pos = model.positions.get(n.id);
      if (!pos) continue;
      const key = keyOf(n);
      const highlight = highlights.get(key) ?? null;
      const fn: EntityFlowNode = {
        id: n.id,
        type: "entity",
        position: pos,
        width: NODE_WIDTH,
        height: NODE_HEIGHT,
        draggable: false,
        connectable: false,
        selectable: false,
        data: {
          node: n,
          center: n.id === model.centerId,
          selected: key === selectedKey,
          highlight,
          dimmed: dimming && !highlight,
          expandedUpstream: model.expanded.has(`${n.id}|upstream`),
          expandedDownstream: model.expanded.has(`${n.id}|downstream`),
          busy: busy.get(n.id) ?? null,
        },
      };
      out.push(fn);
    }
    for (const [id, entry] of model.more) {
      const pos = model.positions.get(id);
      if (!pos) continue;
      const mn: MoreFlowNode = {
        id,
        type: "more",
        position: pos,
        width: MORE_WIDTH,
        height: MORE_HEIGHT,
        draggable: false,
        connectable: false,
        selectable: false,
        data: { entry, dimmed: dimming },
      };
      out.push(mn);
    }
    return out;
  }, [model, highlights, selectedKey, busy, dimming]);

  const highlightedIds = useMemo(() => {
    if (highlights.size === 0) return "";
    return [...model.nodes.values()]
      .filter((n) => highlights.has(keyOf(n)) && model.positions.has(n.id))
      .map((n) => n.id)
      .sort()
      .join("\n");
  }, [model, highlights]);

  const edges = useMemo<Edge[]>(() => {
    const hlOf = (id: string): Highlight | null => {
      const n = model.nodes.get(id);
      return n ? (highlights.get(keyOf(n)) ?? null) : null;
    };
    const out: Edge[] = [];
    for (const e of model.edges.values()) {
      const hs = hlOf(e.source);
      const ht = hlOf(e.target);
      const hl = hs && ht ? (ht === "origin" ? hs : ht) : null;
      const color = hl ? EDGE_HL[hl] : EDGE_COLOR;
      out.push({
        id: `${e.source}>${e.target}>${e.type}`,
        source: e.source,
        target: e.target,
        label: e.inferred,
        className: `ledge${hl ? " is-hl" : ""}${dimming && !hl ? " is-dimmed" : ""}`,
        style: { stroke: color, strokeWidth: hl ? 2.2 : 1.3, strokeDasharray: e.inferred ? "5 4" : undefined },
        markerEnd: { type: MarkerType.ArrowClosed, color, width: 16, height: 16 },
        data: { type: e.type },
      });
    }
    for (const [id, c] of model.more) {
      out.push({
        id: `${id}>edge`,
        source: c.side === "downstream" ? c.node : id,
        target: c.side === "downstream" ? id : c.node,
        className: `ledge ledge-more${dimming ? " is-dimmed" : ""}`,
        style: { stroke: "#b8c0cc", strokeDasharray: "3 4" },
      });
    }
    return out;
  }, [model, highlights, dimming]);

  return (
    <GraphActionsContext.Provider value={actions}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable={false}
        onlyRenderVisibleElements={nodes.length > 150}
        minZoom={0.05}
        maxZoom={2}
        proOptions={{ hideAttribution: true }}
        onNodeClick={(_ev, n) => {
          if (n.type === "entity") onSelect((n as EntityFlowNode).data.node);
        }}
      >
        <Background gap={24} size={1} color="#e3e7ee" />
        <Controls showInteractive={false} position="bottom-left" />
        <MiniMap pannable zoomable style={{ width: 180, height: 120 }} maskColor="rgba(235, 238, 243, 0.7)" nodeColor={minimapColor} nodeStrokeWidth={0} position="bottom-right" ariaLabel="Overview" />
        <Viewport token={fitToken} focus={focus} highlighted={highlightedIds} />
      </ReactFlow>
    </GraphActionsContext.Provider>
  );
}

export function LineageGraph(props: LineageGraphProps) {
  return (
    <ReactFlowProvider>
      <GraphCanvas {...props} />
    </ReactFlowProvider>
  );
}
