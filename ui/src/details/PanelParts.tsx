// Building blocks shared by the side panels.
import type { ReactNode } from "react";
import type { NodeIdentity, SearchKind } from "../api";
import { KindIcon } from "../common/Icons";

export function PanelHeader({ kind, title, subtitle, onBack, backLabel, children }: {
  kind: SearchKind | "run" | "analysis";
  title: string;
  subtitle?: string;
  onBack?: () => void;
  backLabel?: string;
  children?: ReactNode;
}) {
  return (
    <div className="panel-header">
      {onBack && (
        <button type="button" className="btn-link back-link" onClick={onBack} data-testid="panel-back">
          ← {backLabel ?? "Back"}
        </button>
      )}
      <div className="panel-kind">
        {kind === "dataset" || kind === "job" || kind === "column" ? <KindIcon kind={kind} size={14} /> : null}
        {kind}
      </div>
      <h2 className="panel-title" data-testid="panel-title" title={title}>
        {title}
      </h2>
      {subtitle && <div className="panel-subtitle">{subtitle}</div>}
      {children && <div className="panel-actions">{children}</div>}
    </div>
  );
}

export function Section({ title, count, children, testId }: { title: string; count?: number; children: ReactNode; testId?: string }) {
  return (
    <section className="panel-section" data-testid={testId}>
      <h3 className="section-title">
        {title}
        {count !== undefined && <span className="count">{count.toLocaleString()}</span>}
      </h3>
      {children}
    </section>
  );
}

export function KeyValues({ rows }: { rows: Array<[string, ReactNode]> }) {
  return (
    <dl className="kv">
      {rows.map(([k, v]) => (
        <div className="kv-row" key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

export function Chips({ items, empty }: { items: string[]; empty: string }) {
  if (items.length === 0) return <span className="muted">{empty}</span>;
  return (
    <span className="chips">
      {items.map((t) => (
        <span className="chip" key={t}>
          {t}
        </span>
      ))}
    </span>
  );
}

/** A dataset or job named in a panel; clicking shows it in the graph. */
export function NodeLink({ node, onOpen, field }: { node: NodeIdentity; onOpen: (n: NodeIdentity) => void; field?: string }) {
  return (
    <button
      type="button"
      className="node-link"
      data-testid="node-link"
      data-kind={node.kind}
      data-name={node.name}
      title={`${node.namespace}\n${node.name}`}
      onClick={() => onOpen(node)}
    >
      <KindIcon kind={node.kind} size={13} />
      <span className="node-link-name">
        {node.name}
        {field && <span className="node-link-field">.{field}</span>}
      </span>
    </button>
  );
}
