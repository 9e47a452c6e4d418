import type { DatasetRef, NodeIdentity, RunDetails as Run, RunLink } from "../api";
import { api } from "../api";
import { ErrorMessage, Loading } from "../common/Feedback";
import { FacetSections } from "../common/JsonSections";
import { Duration, RunStateBadge, TimeAgo } from "../common/RunState";
import { useApi } from "../common/useApi";
import { fullTime } from "../format";
import { KeyValues, NodeLink, PanelHeader, Section } from "./PanelParts";

export interface RunDetailsProps {
  runId: string;
  onBack: () => void;
  onOpenRun: (runId: string) => void;
  onOpenNode: (n: NodeIdentity) => void;
  onRootCause: (runId: string) => void;
  onImpact: (dataset: DatasetRef) => void;
}

function RunLinkRow({ link, onOpenRun }: { link: RunLink; onOpenRun: (id: string) => void }) {
  return (
    <li>
      <button type="button" className="run-link" data-testid="run-link" data-run-id={link.runId} onClick={() => onOpenRun(link.runId)}>
        <RunStateBadge state={link.state} compact />
        <span className="run-link-job">{link.job.name}</span>
      </button>
    </li>
  );
}

export function RunDetails({ runId, onBack, onOpenRun, onOpenNode, onRootCause, onImpact }: RunDetailsProps) {
  const { data, error, loading } = useApi<Run>(runId, (signal) => api.run(runId, signal));
  return (
    <div className="panel" data-testid="run-details" data-run-id={runId}>
      <PanelHeader kind="run" title={data ? data.job.name : "Run"} subtitle={runId} onBack={onBack} backLabel="Job">
        {data?.state === "FAILED" && (
          <button type="button" className="btn btn-danger" data-testid="root-cause-button" onClick={() => onRootCause(runId)}>
            Why did this fail?
          </button>
        )}
      </PanelHeader>
      {loading && <Loading label="Loading run…" />}
      {error && <ErrorMessage error={error} />}
      {data && (
        <>
          <Section title="Overview">
            <KeyValues
              rows={[
                ["State", <RunStateBadge state={data.state} />],
                ["Job", <NodeLink node={{ kind: "job", ...data.job }} onOpen={onOpenNode} />],
                ["Started", <span title={fullTime(data.startedAt)}><TimeAgo iso={data.startedAt} /></span>],
                ["Ended", data.endedAt ? <TimeAgo iso={data.endedAt} /> : <span className="muted">not ended</span>],
                ["Took", <Duration seconds={data.durationSeconds} />],
              ]}
            />
            {data.errorMessage && <pre className="error-block" data-testid="run-error">{data.errorMessage}</pre>}
          </Section>
          <Section title="Inputs" count={data.inputs.length} testId="run-inputs">
            {data.inputs.length === 0 ? (
              <div className="empty-note">No inputs recorded.</div>
            ) : (
              <ul className="plain-list">
                {data.inputs.map((d) => (
                  <li key={`${d.namespace}|${d.name}`}>
                    <NodeLink node={{ kind: "dataset", ...d }} onOpen={onOpenNode} />
                  </li>
                ))}
              </ul>
            )}
          </Section>
          <Section title="Outputs" count={data.outputs.length} testId="run-outputs">
            {data.outputs.length === 0 ? (
              <div className="empty-note">No outputs recorded.</div>
            ) : (
              <ul className="plain-list">
                {data.outputs.map((d) => (
                  <li key={`${d.namespace}|${d.name}`} className="row-with-action">
                    <NodeLink node={{ kind: "dataset", ...d }} onOpen={onOpenNode} />
                    <button type="button" className="btn btn-small" data-testid="output-impact" onClick={() => onImpact(d)}>
                      Affected downstream
                    </button>
                  </li>
                ))}
              </ul>
            )}
          </Section>
          <Section title="Parent run">
            {data.parent ? (
              <ul className="plain-list">
                <RunLinkRow link={data.parent} onOpenRun={onOpenRun} />
              </ul>
            ) : (
              <div className="empty-note">No parent run.</div>
            )}
          </Section>
          <Section title="Child runs" count={data.children.length}>
            {data.children.length === 0 ? (
              <div className="empty-note">No child runs.</div>
            ) : (
              <ul className="plain-list">
                {data.children.map((c) => (
                  <RunLinkRow key={c.runId} link={c} onOpenRun={onOpenRun} />
                ))}
              </ul>
            )}
          </Section>
          <Section title="Facets" count={Object.keys(data.facets).length}>
            <FacetSections facets={data.facets} />
          </Section>
        </>
      )}
    </div>
  );
}
