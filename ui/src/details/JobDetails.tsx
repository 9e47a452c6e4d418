import type { JobDetails as Job, NodeIdentity, RunSummary } from "../api";
import { api } from "../api";
import { ErrorMessage, Loading } from "../common/Feedback";
import { FacetSections } from "../common/JsonSections";
import { Duration, RunStateBadge, TimeAgo } from "../common/RunState";
import { useApi } from "../common/useApi";
import { formatSql } from "../format";
import { Chips, KeyValues, PanelHeader, Section } from "./PanelParts";

export interface JobDetailsProps {
  job: NodeIdentity;
  onOpenRun: (runId: string) => void;
  onRootCause: (runId: string) => void;
}

export function JobDetails({ job, onOpenRun, onRootCause }: JobDetailsProps) {
  const key = `${job.namespace}\u0000${job.name}`;
  const { data, error, loading } = useApi<Job>(key, (signal) => api.job(job, signal));
  const latest = data?.runs[0];
  return (
    <div className="panel" data-testid="job-details">
      <PanelHeader kind="job" title={job.name} subtitle={job.namespace}>
        {latest?.state === "FAILED" && (
          <button type="button" className="btn btn-danger" data-testid="root-cause-button" onClick={() => onRootCause(latest.runId)}>
            Why did this fail?
          </button>
        )}
      </PanelHeader>
      {loading && <Loading label="Loading job…" />}
      {error && <ErrorMessage error={error} />}
      {data && (
        <>
          <Section title="Overview">
            <KeyValues
              rows={[
                ["Type", data.type ?? <span className="muted">unknown</span>],
                ["Latest run", latest ? <RunStateBadge state={latest.state} /> : <span className="muted">no runs</span>],
                ["Owners", <Chips items={data.owners} empty="no owner" />],
              ]}
            />
            {latest?.errorMessage && <pre className="error-block" data-testid="latest-error">{latest.errorMessage}</pre>}
          </Section>
          <Section title="Recent runs" count={data.runs.length} testId="runs">
            {data.runs.length === 0 ? (
              <div className="empty-note">This job has not run yet.</div>
            ) : (
              <table className="table runs-table">
                <thead>
                  <tr>
                    <th>State</th>
                    <th>Started</th>
                    <th>Ended</th>
                    <th>Took</th>
                  </tr>
                </thead>
                <tbody>
                  {data.runs.map((r) => (
                    <RunRows key={r.runId} run={r} onOpenRun={onOpenRun} />
                  ))}
                </tbody>
              </table>
            )}
          </Section>
          {data.sql && (
            <Section title="SQL" testId="sql">
              <pre className="code-block sql-block" data-testid="sql-block">{formatSql(data.sql)}</pre>
            </Section>
          )}
          <Section title="Facets" count={Object.keys(data.facets).length}>
            <FacetSections facets={data.facets} />
          </Section>
        </>
      )}
    </div>
  );
}

function RunRows({ run: r, onOpenRun }: { run: RunSummary; onOpenRun: (runId: string) => void }) {
  return (
    <>
      <tr
        className={`clickable${r.errorMessage ? " has-error" : ""}`}
        data-testid="run-row"
        data-run-id={r.runId}
        data-state={r.state}
        onClick={() => onOpenRun(r.runId)}
        title={r.errorMessage ?? `Open run ${r.runId}`}
      >
        <td>
          <RunStateBadge state={r.state} compact />
        </td>
        <td>
          <TimeAgo iso={r.startedAt} />
        </td>
        <td>{r.endedAt ? <TimeAgo iso={r.endedAt} /> : <span className="muted">{r.state === "RUNNING" ? "running" : "—"}</span>}</td>
        <td>
          <Duration seconds={r.durationSeconds} />
        </td>
      </tr>
      {r.errorMessage && (
        <tr className="clickable error-row" data-testid="run-error-row" onClick={() => onOpenRun(r.runId)}>
          <td colSpan={4}>
            <div className="run-error" title={r.errorMessage}>
              {r.errorMessage}
            </div>
          </td>
        </tr>
      )}
    </>
  );
}
