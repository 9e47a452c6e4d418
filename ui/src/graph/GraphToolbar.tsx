// Depth, direction and "since" controls of the graph; every change is reflected in the URL.
import type { Direction } from "../api";
import { MAX_DEPTH } from "../url";

export interface GraphToolbarProps {
  depth: number;
  direction: Direction;
  since: string | null;
  nodeCount: number;
  loading: boolean;
  onChange: (patch: { depth?: number; direction?: Direction; since?: string | null }) => void;
  onFit?: () => void;
}

const DIRECTIONS: Array<{ value: Direction; label: string }> = [
  { value: "upstream", label: "Upstream" },
  { value: "both", label: "Both" },
  { value: "downstream", label: "Downstream" },
];

/** ISO time with offset -> value for <input type="datetime-local"> (local time, minutes). */
function toLocalInput(iso: string | null): string {
  if (!iso) return "";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "";
  const d = new Date(t);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** <input type="datetime-local"> value -> ISO-8601 with offset, in UTC. */
function fromLocalInput(value: string): string | null {
  if (!value) return null;
  const t = new Date(value);
  if (Number.isNaN(t.getTime())) return null;
  return t.toISOString().replace(/\.\d{3}Z$/, "+00:00");
}

export function GraphToolbar({ depth, direction, since, nodeCount, loading, onChange }: GraphToolbarProps) {
  return (
    <div className="toolbar" data-testid="graph-toolbar">
      <label className="field">
        <span className="field-label">Depth</span>
        <select
          data-testid="depth"
          value={depth}
          onChange={(e) => onChange({ depth: Number(e.target.value) })}
          aria-label="Depth in hops"
        >
          {Array.from({ length: MAX_DEPTH }, (_, i) => i + 1).map((d) => (
            <option key={d} value={d}>
              {d}
            </option>
          ))}
        </select>
      </label>
      <div className="field">
        <span className="field-label">Direction</span>
        <div className="segmented" role="radiogroup" aria-label="Direction" data-testid="direction">
          {DIRECTIONS.map((d) => (
            <button
              key={d.value}
              type="button"
              role="radio"
              aria-checked={direction === d.value}
              data-testid={`direction-${d.value}`}
              className={direction === d.value ? "is-on" : ""}
              onClick={() => onChange({ direction: d.value })}
            >
              {d.label}
            </button>
          ))}
        </div>
      </div>
      <label className="field">
        <span className="field-label">Since</span>
        <input
          type="datetime-local"
          data-testid="since"
          value={toLocalInput(since)}
          onChange={(e) => onChange({ since: fromLocalInput(e.target.value) })}
        />
        {since && (
          <button type="button" className="btn-link" onClick={() => onChange({ since: null })} data-testid="since-clear">
            clear
          </button>
        )}
      </label>
      <div className="toolbar-spacer" />
      <div className="toolbar-status muted" data-testid="graph-status">
        {loading ? "Loading…" : `${nodeCount.toLocaleString()} nodes`}
      </div>
    </div>
  );
}
