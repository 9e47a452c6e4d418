import type { NodeIdentity, RootCauseSuspect, RunDetails } from "../api";
import type { ApiState } from "../common/useApi";
import { ErrorMessage, Loading } from "../common/Feedback";
import { RunStateBadge, TimeAgo } from "../common/RunState";
import { NodeLink, PanelHeader, Section } from "../details/PanelParts";

const REASON_TEXT: Record<string, string> = {
  FAILED: "run failed",
  ABORTED: "run aborted",
  SCHEMA_CHANGED: "schema changed",
  ALTER: "table altered",
  DROP: "table dropped",
};

export interface RootCausePanelProps {
  runId: string;
  state: ApiState<RootCauseSuspect[]>;
  run: RunDetails | null;
  onBack: () => void;
  onOpenNode: (n: NodeIdentity) => void;
  onOpenRun: (runId: string) => void;
}

export function RootCausePanel({ runId, state, run, onBack, onOpenNode, onOpenRun }: RootCausePanelProps) {
  const suspects = state.data ? [...state.data].sort((a, b) => a.hops - b.hops) : [];
  return (
    <div className="panel" data-testid="root-cause-panel" data-run-id={runId}>
      <PanelHeader
        kind="analysis"
        title="Why did this fail?"
        subtitle={run ? `${run.job.name} · run ${runId}` : `run ${runId}`}
        onBack={onBack}
        backLabel="Details"
      />
      {state.loading && <Loading label="Looking for the cause upstream…" />}
      {state.error && <ErrorMessage error={state.error} />}
      {state.data && (
        <Section title="Suspects, nearest first" count={suspects.length} testId="suspects">
          {suspects.length === 0 ? (
            <div className="empty-note">No failed, aborted or changed upstream run was found. The cause is likely in this job itself.</div>
          ) : (
            <ol className="card-list">
              {suspects.map((s) => (
                <li key={`${s.runId}|${s.dataset?.name ?? ""}`} className="card suspect" data-testid="suspect" data-run-id={s.runId} data-hops={s.hops}>
                  <div className="card-top">
                    <span className="hops" title="hops from the failed run">{s.hops} {s.hops === 1 ? "hop" : "hops"}</span>
                    <span className="relation">{s.relation === "child" ? "child run" : "upstream"}</span>
                    <span className="reasons">
                      {s.reasons.map((r) => (
                        <span key={r} className={`badge ${r === "FAILED" || r === "DROP" ? "badge-danger" : "badge-warn"}`} data-testid="reason" data-reason={r}>
                          {REASON_TEXT[r] ?? r}
                        </span>
                      ))}
                    </span>
                  </div>
                  <div className="card-row">
                    <NodeLink node={{ kind: "job", ...s.job }} onOpen={onOpenNode} />
                  </div>
                  {s.dataset && (
                    <div className="card-row">
                      <span className="muted small">wrote</span> <NodeLink node={{ kind: "dataset", ...s.dataset }} onOpen={onOpenNode} />
                    </div>
                  )}
                  <div className="card-row small">
                    <RunStateBadge state={s.state} compact />
                    <span className="muted">
                      <TimeAgo iso={s.startedAt} prefix="started" />
                    </span>
                    <button type="button" className="btn-link" onClick={() => onOpenRun(s.runId)} data-testid="suspect-run">
                      open run
                    </button>
                  </div>
                  {s.errorMessage && <pre className="error-block">{s.errorMessage}</pre>}
                </li>
              ))}
            </ol>
          )}
        </Section>
      )}
    </div>
  );
}
