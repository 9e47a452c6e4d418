import type { ColumnLineageResponse, ColumnRef, NodeIdentity } from "../api";
import type { ApiState } from "../common/useApi";
import { ErrorMessage, Loading } from "../common/Feedback";
import { LockIcon } from "../common/Icons";
import { NodeLink, Section } from "../details/PanelParts";

function ColumnRows({ refs, onOpenNode, side }: { refs: ColumnRef[]; onOpenNode: (n: NodeIdentity) => void; side: string }) {
  if (refs.length === 0) return <div className="empty-note">No {side} columns.</div>;
  const sorted = [...refs].sort((a, b) => a.hops - b.hops);
  return (
    <ul className="column-list">
      {sorted.map((c) => (
        <li
          key={`${c.namespace}|${c.name}|${c.field}`}
          className={`column-item${c.masking ? " is-masked" : ""}`}
          data-testid="column-lineage-row"
          data-side={side}
          data-name={c.name}
          data-field={c.field}
          data-masking={c.masking ? "true" : "false"}
        >
          <NodeLink node={{ kind: "dataset", namespace: c.namespace, name: c.name }} field={c.field} onOpen={onOpenNode} />
          <div className="column-item-meta">
            <span>{c.hops} {c.hops === 1 ? "hop" : "hops"}</span>
            <span className="node-meta-sep">·</span>
            <span className="transform" title="transformation type / subtype">
              {c.types.join(", ") || "—"}
              {c.subtypes.length > 0 && <span className="muted"> / {c.subtypes.join(", ")}</span>}
            </span>
            {c.masking && (
              <span className="badge badge-mask" data-testid="masked" title="The value is masked (hashed, redacted or encrypted) on the way">
                <LockIcon size={11} /> masked
              </span>
            )}
          </div>
        </li>
      ))}
    </ul>
  );
}

export function ColumnLineageSection({ field, state, onClose, onOpenNode }: {
  field: string;
  state: ApiState<ColumnLineageResponse>;
  onClose: () => void;
  onOpenNode: (n: NodeIdentity) => void;
}) {
  return (
    <div className="column-lineage" data-testid="column-lineage" data-field={field}>
      <div className="column-lineage-head">
        <span>
          Lineage of column <strong className="mono">{field}</strong>
        </span>
        <button type="button" className="btn-link" onClick={onClose} data-testid="column-close">
          close
        </button>
      </div>
      {state.loading && <Loading label="Tracing the column…" />}
      {state.error && <ErrorMessage error={state.error} />}
      {state.data && (
        <>
          <Section title="Comes from" count={state.data.upstream.length}>
            <ColumnRows refs={state.data.upstream} onOpenNode={onOpenNode} side="upstream" />
          </Section>
          <Section title="Flows into" count={state.data.downstream.length}>
            <ColumnRows refs={state.data.downstream} onOpenNode={onOpenNode} side="downstream" />
          </Section>
        </>
      )}
    </div>
  );
}
