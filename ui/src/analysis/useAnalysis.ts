// Root cause, blast radius and column lineage for the current view, and what they highlight in the graph.
import { useMemo } from "react";
import type { ColumnLineageResponse, ImpactResponse, NodeIdentity, RootCauseSuspect, RunDetails } from "../api";
import { api, nodeKey } from "../api";
import type { ApiState } from "../common/useApi";
import { useApi } from "../common/useApi";
import type { Highlight } from "../graph/NodeCards";

export const ANALYSIS_DEPTH = 5;

export interface Analysis {
  rootCause: ApiState<RootCauseSuspect[]>;
  /** The run being explained (its job is the origin of the root-cause search). */
  causeRun: ApiState<RunDetails>;
  impact: ApiState<ImpactResponse>;
  columns: ApiState<ColumnLineageResponse>;
  highlights: Map<string, Highlight>;
}

export function useAnalysis(cause: string | null, impactOf: NodeIdentity | null, columnOf: NodeIdentity | null, field: string | null): Analysis {
  const rootCause = useApi<RootCauseSuspect[]>(cause, (s) => api.rootCause(cause!, ANALYSIS_DEPTH, s));
  const causeRun = useApi<RunDetails>(cause, (s) => api.run(cause!, s));
  const impactKey = impactOf ? `${impactOf.namespace}\u0000${impactOf.name}` : null;
  const impact = useApi<ImpactResponse>(impactKey, (s) => api.impact(impactOf!, ANALYSIS_DEPTH, s));
  const columnKey = columnOf && field ? `${columnOf.namespace}\u0000${columnOf.name}\u0000${field}` : null;
  const columns = useApi<ColumnLineageResponse>(columnKey, (s) => api.columnLineage(columnOf!, field!, ANALYSIS_DEPTH, s));

  const highlights = useMemo(() => {
    const h = new Map<string, Highlight>();
    if (cause && rootCause.data) {
      for (const s of rootCause.data) {
        h.set(nodeKey("job", s.job.namespace, s.job.name), "cause");
        if (s.dataset) h.set(nodeKey("dataset", s.dataset.namespace, s.dataset.name), "cause");
      }
      if (causeRun.data) h.set(nodeKey("job", causeRun.data.job.namespace, causeRun.data.job.name), "origin");
    } else if (impactOf && impact.data) {
      h.set(nodeKey("dataset", impactOf.namespace, impactOf.name), "origin");
      for (const d of impact.data.datasets) h.set(nodeKey("dataset", d.namespace, d.name), "affected");
      for (const j of impact.data.jobs) h.set(nodeKey("job", j.namespace, j.name), "affected");
    } else if (columnOf && field && columns.data) {
      h.set(nodeKey("dataset", columnOf.namespace, columnOf.name), "column");
      for (const c of [...columns.data.upstream, ...columns.data.downstream]) h.set(nodeKey("dataset", c.namespace, c.name), "column");
    }
    return h;
  }, [cause, rootCause.data, causeRun.data, impactOf, impact.data, columnOf, field, columns.data]);

  return { rootCause, causeRun, impact, columns, highlights };
}
