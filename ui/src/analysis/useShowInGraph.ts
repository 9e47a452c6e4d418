// Brings the nodes an analysis names into the graph when they are not shown yet.
import { useEffect, useRef } from "react";
import type { LineageNode, NodeIdentity, RootCauseSuspect } from "../api";
import { nodeKey } from "../api";
import type { Analysis } from "./useAnalysis";
import type { LineageGraphState } from "../graph/useLineageGraph";
import type { GraphEdge, GraphModel } from "../graph/model";
import { findByKey, keyOf, localNode, neighbourEdge } from "../graph/model";
import { MAX_DEPTH } from "../url";

function missingKeys(model: GraphModel, keys: Iterable<string>): Set<string> {
  const present = new Set([...model.nodes.values()].map(keyOf));
  return new Set([...keys].filter((k) => !present.has(k)));
}

function depthFor(hops: number): number {
  return Math.max(1, Math.min(MAX_DEPTH, 2 * hops + 1));
}

function suspectRun(s: RootCauseSuspect) {
  const started = s.startedAt ? Date.parse(s.startedAt) : NaN;
  const ended = s.endedAt ? Date.parse(s.endedAt) : NaN;
  return {
    runId: s.runId,
    state: s.state,
    startedAt: s.startedAt,
    endedAt: s.endedAt,
    durationSeconds: Number.isFinite(started) && Number.isFinite(ended) ? (ended - started) / 1000 : null,
    errorMessage: s.errorMessage,
  };
}

export function useShowInGraph(graph: LineageGraphState, analysis: Analysis, cause: string | null, impactOf: NodeIdentity | null, columnOf: NodeIdentity | null, field: string | null) {
  const done = useRef(new Set<string>());
  const ready = !graph.loading && !graph.error && graph.model.nodes.size > 0;
  const graphId = graph.model.centerId;

  // Root cause: fetch upstream of the failed job far enough; add what is still missing with a dashed link.
  const suspects = analysis.rootCause.data;
  const run = analysis.causeRun.data;
  useEffect(() => {
    if (!ready || !cause || !suspects || !run) return;
    const tag = `cause|${graphId}|${cause}`;
    if (done.current.has(tag)) return;
    done.current.add(tag);
    const keys = suspects.flatMap((s) => [nodeKey("job", s.job.namespace, s.job.name), ...(s.dataset ? [nodeKey("dataset", s.dataset.namespace, s.dataset.name)] : [])]);
    const run_ = run;
    void (async () => {
      let model = graph.model;
      if (missingKeys(model, keys).size === 0) return;
      const origin = findByKey(model, "job", run_.job.namespace, run_.job.name);
      const upstream = suspects.filter((s) => s.relation === "upstream");
      if (upstream.length > 0) {
        const maxHops = Math.max(...upstream.map((s) => s.hops));
        try {
          model = await graph.mergeQuery({ kind: "job", ...run_.job, depth: depthFor(maxHops), direction: "upstream" }, origin?.id ?? null);
        } catch {
          /* fall back to drawing the suspects directly */
        }
      }
      const missing = missingKeys(model, keys);
      if (missing.size === 0) return;
      const anchor = findByKey(model, "job", run_.job.namespace, run_.job.name) ?? localNode("job", run_.job.namespace, run_.job.name);
      const nodes: LineageNode[] = findByKey(model, "job", anchor.namespace, anchor.name) ? [] : [anchor];
      const edges: GraphEdge[] = [];
      const idOf = (kind: "job" | "dataset", ns: string, name: string): LineageNode => {
        const have = findByKey(model, kind, ns, name) ?? nodes.find((n) => n.kind === kind && n.namespace === ns && n.name === name);
        if (have) return have;
        const n = localNode(kind, ns, name);
        nodes.push(n);
        return n;
      };
      for (const s of suspects) {
        const jobMissing = missing.has(nodeKey("job", s.job.namespace, s.job.name));
        const job = idOf("job", s.job.namespace, s.job.name);
        if (jobMissing) job.latestRun = suspectRun(s);
        if (s.relation === "child") {
          if (jobMissing) edges.push(neighbourEdge(anchor, job, "downstream", "child run"));
          continue;
        }
        const label = `${s.hops} ${s.hops === 1 ? "hop" : "hops"} upstream`;
        if (s.dataset) {
          const dsMissing = missing.has(nodeKey("dataset", s.dataset.namespace, s.dataset.name));
          const ds = idOf("dataset", s.dataset.namespace, s.dataset.name);
          if (jobMissing || dsMissing) edges.push(neighbourEdge(ds, job, "upstream"));
          if (dsMissing) edges.push(neighbourEdge(anchor, ds, "upstream", label));
        } else if (jobMissing) {
          edges.push(neighbourEdge(anchor, job, "upstream", label));
        }
      }
      await graph.addLocal(nodes, edges, anchor.id);
    })();
  }, [ready, cause, suspects, run, graphId]);

  // Blast radius: fetch downstream of the dataset deep enough to show what is affected.
  const impact = analysis.impact.data;
  useEffect(() => {
    if (!ready || !impactOf || !impact) return;
    const tag = `impact|${graphId}|${impactOf.namespace}|${impactOf.name}`;
    if (done.current.has(tag)) return;
    done.current.add(tag);
    const keys = [...impact.datasets, ...impact.jobs].map((e) => nodeKey(e.kind, e.namespace, e.name));
    if (missingKeys(graph.model, keys).size === 0) return;
    const maxHops = Math.max(1, ...impact.datasets.map((d) => d.hops), ...impact.jobs.map((j) => j.hops));
    const anchor = findByKey(graph.model, "dataset", impactOf.namespace, impactOf.name);
    graph.mergeQuery({ kind: "dataset", namespace: impactOf.namespace, name: impactOf.name, depth: Math.min(MAX_DEPTH, 2 * maxHops), direction: "downstream" }, anchor?.id ?? null).catch(() => undefined);
  }, [ready, impactOf?.namespace, impactOf?.name, impact, graphId]);

  // Column lineage: fetch both ways around the dataset so the datasets involved are shown.
  const columns = analysis.columns.data;
  useEffect(() => {
    if (!ready || !columnOf || !field || !columns) return;
    const tag = `column|${graphId}|${columnOf.namespace}|${columnOf.name}|${field}`;
    if (done.current.has(tag)) return;
    done.current.add(tag);
    const refs = [...columns.upstream, ...columns.downstream];
    const keys = refs.map((c) => nodeKey("dataset", c.namespace, c.name));
    if (missingKeys(graph.model, keys).size === 0) return;
    const maxHops = Math.max(1, ...refs.map((c) => c.hops));
    const anchor = findByKey(graph.model, "dataset", columnOf.namespace, columnOf.name);
    graph.mergeQuery({ kind: "dataset", namespace: columnOf.namespace, name: columnOf.name, depth: Math.min(MAX_DEPTH, 2 * maxHops), direction: "both" }, anchor?.id ?? null).catch(() => undefined);
  }, [ready, columnOf?.namespace, columnOf?.name, field, columns, graphId]);
}
