// The "+K more" list: a searchable, paged list of one side's neighbours.
import { useEffect, useState } from "react";
import type { LineageNode, NodeIdentity, Side } from "../api";
import { api } from "../api";
import { ErrorMessage, Loading } from "../common/Feedback";
import { KindIcon } from "../common/Icons";
import { RunStateBadge, TimeAgo } from "../common/RunState";
import { useApi } from "../common/useApi";
import { PanelHeader } from "../details/PanelParts";

const PAGE_SIZE = 50;

export interface NeighboursPanelProps {
  node: NodeIdentity;
  side: Side;
  /** Ids already in the graph. */
  inGraph: (item: LineageNode) => boolean;
  onAdd: (item: LineageNode) => void;
  onOpen: (n: NodeIdentity) => void;
  onBack: () => void;
}

export function NeighboursPanel({ node, side, inGraph, onAdd, onOpen, onBack }: NeighboursPanelProps) {
  const [text, setText] = useState("");
  const [q, setQ] = useState("");
  const [offset, setOffset] = useState(0);
  useEffect(() => {
    const t = window.setTimeout(() => {
      setQ(text.trim());
      setOffset(0);
    }, 200);
    return () => window.clearTimeout(t);
  }, [text]);
  const key = JSON.stringify([node.kind, node.namespace, node.name, side, q, offset]);
  const { data, error, loading } = useApi(key, (s) => api.neighbours(node, side, q, offset, PAGE_SIZE, s));
  const total = data?.total ?? 0;
  return (
    <div className="panel" data-testid="neighbours-panel" data-side={side}>
      <PanelHeader
        kind="analysis"
        title={side === "downstream" ? "Downstream neighbours" : "Upstream neighbours"}
        subtitle={`${node.name} · ${node.namespace}`}
        onBack={onBack}
        backLabel="Details"
      />
      <div className="panel-section">
        <input
          type="search"
          className="text-input"
          data-testid="neighbours-filter"
          placeholder="Filter by name"
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
        <div className="list-meta muted" data-testid="neighbours-total" data-total={total}>
          {data ? `${total.toLocaleString()} ${total === 1 ? "match" : "matches"}` : "\u00a0"}
          {data && total > 0 && ` · showing ${offset + 1}–${Math.min(offset + PAGE_SIZE, total)}`}
        </div>
        {loading && <Loading />}
        {error && <ErrorMessage error={error} />}
        {data && data.items.length === 0 && <div className="empty-note">Nothing matches “{q}”.</div>}
        {data && data.items.length > 0 && (
          <ul className="neighbour-list">
            {data.items.map((item) => {
              const present = inGraph(item);
              return (
                <li key={item.id} className="neighbour" data-testid="neighbour-item" data-name={item.name} data-kind={item.kind}>
                  <button type="button" className="neighbour-main" onClick={() => onAdd(item)} title={present ? "Show in graph" : "Add to graph"}>
                    <KindIcon kind={item.kind} size={14} />
                    <span className="neighbour-text">
                      <span className="neighbour-name">{item.name}</span>
                      <span className="neighbour-ns">
                        {item.kind === "job" && item.latestRun && <RunStateBadge state={item.latestRun.state} compact />}
                        {item.kind === "dataset" && <TimeAgo iso={item.lastWrittenAt ?? null} prefix="written" />}
                        <span>{item.namespace}</span>
                      </span>
                    </span>
                    <span className={`neighbour-action${present ? " is-present" : ""}`}>{present ? "in graph" : "+ add"}</span>
                  </button>
                  <button type="button" className="btn-icon" title="Centre the graph on it" data-testid="neighbour-open" onClick={() => onOpen(item)}>
                    ↗
                  </button>
                </li>
              );
            })}
          </ul>
        )}
        {data && total > PAGE_SIZE && (
          <div className="pager">
            <button type="button" className="btn btn-small" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))} data-testid="page-prev">
              ← Previous
            </button>
            <span className="muted small">
              page {Math.floor(offset / PAGE_SIZE) + 1} of {Math.ceil(total / PAGE_SIZE).toLocaleString()}
            </span>
            <button type="button" className="btn btn-small" disabled={offset + PAGE_SIZE >= total} onClick={() => setOffset(offset + PAGE_SIZE)} data-testid="page-next">
              Next →
            </button>
          </div>
        )}
      </div>
    </div>
  );
}
