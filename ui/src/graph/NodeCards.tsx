// The boxes drawn in the graph: datasets, jobs and "+K more".
import { createContext, memo, useContext } from "react";
import { Handle, Position } from "@xyflow/react";
import type { Node, NodeProps } from "@xyflow/react";
import type { CollapsedEntry, LineageNode, Side } from "../api";
import { GearIcon, TableIcon } from "../common/Icons";
import { Duration, RunStateBadge, TimeAgo } from "../common/RunState";

export type Highlight = "cause" | "affected" | "column" | "origin";

export type EntityNodeData = {
  node: LineageNode;
  center: boolean;
  selected: boolean;
  highlight: Highlight | null;
  dimmed: boolean;
  expandedUpstream: boolean;
  expandedDownstream: boolean;
  busy: Side | null;
};
export type EntityFlowNode = Node<EntityNodeData, "entity">;

export type MoreNodeData = { entry: CollapsedEntry; dimmed: boolean };
export type MoreFlowNode = Node<MoreNodeData, "more">;

export interface GraphActions {
  expand: (nodeId: string, side: Side) => void;
  openMore: (nodeId: string, side: Side) => void;
}

export const GraphActionsContext = createContext<GraphActions>({ expand: () => {}, openMore: () => {} });

function ExpandButton({ node, side, busy }: { node: LineageNode; side: Side; busy: boolean }) {
  const { expand } = useContext(GraphActionsContext);
  const label = side === "upstream" ? "Show upstream" : "Show downstream";
  return (
    <button
      type="button"
      className={`expand-btn expand-${side} nodrag nopan`}
      data-testid={`expand-${side}`}
      title={`${label} of ${node.name}`}
      aria-label={`${label} of ${node.name}`}
      disabled={busy}
      onClick={(ev) => {
        ev.stopPropagation();
        expand(node.id, side);
      }}
    >
      {busy ? <span className="spinner spinner-small" aria-hidden="true" /> : "+"}
    </button>
  );
}

function JobSummary({ node }: { node: LineageNode }) {
  const run = node.latestRun;
  if (!run) return <div className="node-meta muted">No runs yet</div>;
  return (
    <div className="node-meta">
      <RunStateBadge state={run.state} compact />
      <span className="node-meta-sep">·</span>
      <TimeAgo iso={run.startedAt} />
      <span className="node-meta-sep">·</span>
      <Duration seconds={run.durationSeconds} />
    </div>
  );
}

function DatasetSummary({ node }: { node: LineageNode }) {
  return (
    <div className="node-meta">
      <span className="muted">written</span>&nbsp;
      <TimeAgo iso={node.lastWrittenAt ?? null} />
      {node.schemaChanged && (
        <span className="badge badge-warn" data-testid="schema-changed" title="The schema changed in the latest version">
          schema changed
        </span>
      )}
    </div>
  );
}

export const EntityNodeCard = memo(function EntityNodeCard({ data }: NodeProps<EntityFlowNode>) {
  const { node, center, selected, highlight, dimmed, busy } = data;
  const classes = [
    "lnode",
    `lnode-${node.kind}`,
    center ? "is-center" : "",
    selected ? "is-selected" : "",
    highlight ? `hl-${highlight}` : "",
    dimmed ? "is-dimmed" : "",
    node.kind === "job" && node.latestRun ? `run-${node.latestRun.state.toLowerCase()}` : "",
  ];
  return (
    <div
      className={classes.filter(Boolean).join(" ")}
      data-testid="node"
      data-node-id={node.id}
      data-kind={node.kind}
      data-name={node.name}
      data-namespace={node.namespace}
      data-center={center ? "true" : undefined}
      data-selected={selected ? "true" : undefined}
      data-highlight={highlight ?? undefined}
      data-state={node.latestRun?.state}
    >
      <Handle type="target" position={Position.Left} className="lhandle" isConnectable={false} />
      <div className="lnode-head">
        <span className="lnode-icon">{node.kind === "job" ? <GearIcon /> : <TableIcon />}</span>
        <span className="lnode-name" title={`${node.name}\n${node.namespace}`}>
          {node.name}
        </span>
      </div>
      <div className="lnode-ns" title={node.namespace}>
        {node.namespace}
      </div>
      {node.kind === "job" ? <JobSummary node={node} /> : <DatasetSummary node={node} />}
      {!data.expandedUpstream && <ExpandButton node={node} side="upstream" busy={busy === "upstream"} />}
      {!data.expandedDownstream && <ExpandButton node={node} side="downstream" busy={busy === "downstream"} />}
      <Handle type="source" position={Position.Right} className="lhandle" isConnectable={false} />
    </div>
  );
});

export const MoreNodeCard = memo(function MoreNodeCard({ data }: NodeProps<MoreFlowNode>) {
  const { openMore } = useContext(GraphActionsContext);
  const { entry } = data;
  return (
    <button
      type="button"
      className={`more-node nodrag${data.dimmed ? " is-dimmed" : ""}`}
      data-testid="more-node"
      data-count={entry.count}
      data-side={entry.side}
      data-parent-id={entry.node}
      title={`${entry.count.toLocaleString()} more ${entry.side} neighbours: open the list`}
      onClick={(ev) => {
        ev.stopPropagation();
        openMore(entry.node, entry.side);
      }}
    >
      <Handle type="target" position={Position.Left} className="lhandle" isConnectable={false} />
      +{entry.count.toLocaleString()} more
      <Handle type="source" position={Position.Right} className="lhandle" isConnectable={false} />
    </button>
  );
});

export const nodeTypes = { entity: EntityNodeCard, more: MoreNodeCard };
