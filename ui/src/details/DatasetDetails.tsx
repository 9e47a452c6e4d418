import type { DatasetDetails as Dataset, NodeIdentity } from "../api";
import { api } from "../api";
import { ErrorMessage, Loading } from "../common/Feedback";
import { FacetSections } from "../common/JsonSections";
import { TimeAgo } from "../common/RunState";
import { useApi } from "../common/useApi";
import { Chips, KeyValues, PanelHeader, Section } from "./PanelParts";
import type { ReactNode } from "react";

export interface DatasetDetailsProps {
  dataset: NodeIdentity;
  column: string | null;
  /** The column lineage of the chosen column, shown above the schema. */
  columnLineage: ReactNode;
  onChooseColumn: (field: string | null) => void;
  onImpact: () => void;
}

export function DatasetDetails({ dataset, column, columnLineage, onChooseColumn, onImpact }: DatasetDetailsProps) {
  const key = `${dataset.namespace}\u0000${dataset.name}`;
  const { data, error, loading } = useApi<Dataset>(key, (signal) => api.dataset(dataset, signal));
  return (
    <div className="panel" data-testid="dataset-details">
      <PanelHeader kind="dataset" title={dataset.name} subtitle={dataset.namespace}>
        <button type="button" className="btn btn-primary" data-testid="impact-button" onClick={onImpact}>
          What is affected downstream?
        </button>
      </PanelHeader>
      {loading && <Loading label="Loading dataset…" />}
      {error && <ErrorMessage error={error} />}
      {data && (
        <>
          <Section title="Overview">
            <KeyValues
              rows={[
                ["Last written", <TimeAgo iso={data.lastWrittenAt} />],
                [
                  "Schema",
                  data.schemaChanged ? (
                    <span className="badge badge-warn" data-testid="schema-changed">schema changed</span>
                  ) : (
                    <span className="muted">unchanged</span>
                  ),
                ],
                ["Owners", <Chips items={data.owners} empty="no owner" />],
                ["Tags", <Chips items={data.tags} empty="no tags" />],
              ]}
            />
          </Section>
          {data.aliases.length > 0 && (
            <Section title="Also known as" count={data.aliases.length}>
              <ul className="plain-list">
                {data.aliases.map((a) => (
                  <li key={`${a.namespace}|${a.name}`}>
                    <span className="mono">{a.name}</span> <span className="muted">in {a.namespace}</span>
                  </li>
                ))}
              </ul>
            </Section>
          )}
          {column && columnLineage}
          <Section title="Columns" count={data.fields.length} testId="schema">
            {data.fields.length === 0 ? (
              <div className="empty-note">No schema recorded.</div>
            ) : (
              <table className="table schema-table">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Type</th>
                    <th>Description</th>
                  </tr>
                </thead>
                <tbody>
                  {data.fields.map((f) => (
                    <tr
                      key={f.name}
                      className={`clickable${f.name === column ? " is-on" : ""}`}
                      data-testid="column-row"
                      data-field={f.name}
                      title="Show the lineage of this column"
                      onClick={() => onChooseColumn(f.name === column ? null : f.name)}
                    >
                      <td className="mono">{f.name}</td>
                      <td className="mono muted">{f.type ?? "—"}</td>
                      <td>{f.description ?? ""}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <div className="hint">Choose a column to see where it comes from and where it goes.</div>
          </Section>
          <Section title="Facets" count={Object.keys(data.facets).length}>
            <FacetSections facets={data.facets} />
          </Section>
        </>
      )}
    </div>
  );
}
