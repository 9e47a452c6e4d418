import { useState } from "react";
import type { ImpactEntry, ImpactResponse, NodeIdentity } from "../api";
import type { ApiState } from "../common/useApi";
import { ErrorMessage, Loading } from "../common/Feedback";
import { plural } from "../format";
import { Chips, NodeLink, PanelHeader, Section } from "../details/PanelParts";

const PAGE = 100;

function ImpactList({ entries, onOpenNode, testId }: { entries: ImpactEntry[]; onOpenNode: (n: NodeIdentity) => void; testId: string }) {
  const [shown, setShown] = useState(PAGE);
  const sorted = [...entries].sort((a, b) => a.hops - b.hops || a.name.localeCompare(b.name));
  return (
    <>
      <table className="table impact-table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Hops</th>
            <th>Owners</th>
          </tr>
        </thead>
        <tbody>
          {sorted.slice(0, shown).map((e) => (
            <tr key={`${e.namespace}|${e.name}`} data-testid={testId} data-kind={e.kind} data-name={e.name}>
              <td>
                <NodeLink node={e} onOpen={onOpenNode} />
              </td>
              <td>{e.hops}</td>
              <td>
                <Chips items={e.owners} empty="—" />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {sorted.length > shown && (
        <button type="button" className="btn btn-small" onClick={() => setShown((s) => s + PAGE * 5)}>
          Show more ({(sorted.length - shown).toLocaleString()} left)
        </button>
      )}
    </>
  );
}

export function ImpactPanel({ dataset, state, onBack, onOpenNode }: {
  dataset: NodeIdentity;
  state: ApiState<ImpactResponse>;
  onBack: () => void;
  onOpenNode: (n: NodeIdentity) => void;
}) {
  const data = state.data;
  const owners = data ? [...new Set([...data.datasets, ...data.jobs].flatMap((e) => e.owners))].sort() : [];
  return (
    <div className="panel" data-testid="impact-panel">
      <PanelHeader kind="analysis" title="What is affected downstream?" subtitle={dataset.name} onBack={onBack} backLabel="Details" />
      {state.loading && <Loading label="Walking downstream…" />}
      {state.error && <ErrorMessage error={state.error} />}
      {data && (
        <>
          <div className="summary-line" data-testid="impact-summary" data-datasets={data.datasets.length} data-jobs={data.jobs.length}>
            <strong>{plural(data.datasets.length, "dataset")}</strong>, <strong>{plural(data.jobs.length, "job")}</strong> affected
            <span className="muted"> (up to {data.depth} hops)</span>
          </div>
          {owners.length > 0 && (
            <Section title="Owners to notify" count={owners.length}>
              <Chips items={owners} empty="" />
            </Section>
          )}
          <Section title="Datasets" count={data.datasets.length}>
            {data.datasets.length ? <ImpactList entries={data.datasets} onOpenNode={onOpenNode} testId="impact-dataset" /> : <div className="empty-note">None.</div>}
          </Section>
          <Section title="Jobs" count={data.jobs.length}>
            {data.jobs.length ? <ImpactList entries={data.jobs} onOpenNode={onOpenNode} testId="impact-job" /> : <div className="empty-note">None.</div>}
          </Section>
        </>
      )}
    </div>
  );
}
