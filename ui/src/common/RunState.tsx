import type { RunState } from "../api";
import { duration, fullTime, relativeTime } from "../format";

const GLYPH: Record<RunState, string> = {
  COMPLETED: "✓",
  RUNNING: "⟳",
  FAILED: "✕",
  ABORTED: "⊘",
  NEW: "•",
};

const WORD: Record<RunState, string> = {
  COMPLETED: "Completed",
  RUNNING: "Running",
  FAILED: "Failed",
  ABORTED: "Aborted",
  NEW: "New",
};

/** A run state in colour and in words, so it reads without colour too. */
export function RunStateBadge({ state, compact = false }: { state: RunState; compact?: boolean }) {
  return (
    <span className={`state state-${state.toLowerCase()}${compact ? " state-compact" : ""}`} data-testid="run-state" data-state={state}>
      <span className="state-glyph" aria-hidden="true">
        {GLYPH[state] ?? "•"}
      </span>
      {WORD[state] ?? state}
    </span>
  );
}

/** "3 h ago", with the full time in a tooltip. */
export function TimeAgo({ iso, prefix }: { iso: string | null | undefined; prefix?: string }) {
  if (!iso)
    return (
      <span className="muted" title="not reported">
        {prefix ? `${prefix} —` : "—"}
      </span>
    );
  return (
    <time dateTime={iso} title={fullTime(iso)}>
      {prefix ? `${prefix} ` : ""}
      {relativeTime(iso)}
    </time>
  );
}

export function Duration({ seconds }: { seconds: number | null | undefined }) {
  return <span title={seconds == null ? "unknown duration" : `${seconds} s`}>{duration(seconds)}</span>;
}
