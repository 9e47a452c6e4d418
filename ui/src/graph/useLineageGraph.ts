// Loads the lineage around the centre node and merges expansions into it without moving what is shown.
import { useCallback, useEffect, useRef, useState } from "react";
import type { ApiError, LineageNode, LineageQuery, NodeIdentity, Side } from "../api";
import { api } from "../api";
import { toApiError } from "../common/useApi";
import type { GraphEdge, GraphModel } from "./model";
import { addNeighbour, edgeKey, emptyModel, mergeLineage, moreId } from "./model";
import { layoutAll, placeNewNodes } from "./layout";

export interface LayoutTiming {
  nodes: number;
  fetchMs: number;
  layoutMs: number;
  totalMs: number;
}

declare global {
  interface Window {
    /** Time from request to laid-out graph for the last full load (read by browser tests). */
    __lineageTiming?: LayoutTiming;
  }
}

export interface LineageGraphState {
  model: GraphModel;
  loading: boolean;
  error: ApiError | null;
  /** Errors of expansions and merges, shown as a dismissible notice. */
  notice: string | null;
  busy: Map<string, Side>;
  fitToken: number;
  /** Nodes to bring into view after an expansion (token changes each time). */
  focus: { ids: string[]; token: number };
  reload: () => void;
  dismissNotice: () => void;
  expand: (nodeId: string, side: Side) => void;
  addFromList: (parentId: string, side: Side, item: LineageNode) => Promise<GraphModel>;
  mergeQuery: (q: LineageQuery, anchorId: string | null) => Promise<GraphModel>;
  addLocal: (nodes: LineageNode[], edges: GraphEdge[], anchorId: string | null) => Promise<GraphModel>;
}

function queryKey(q: LineageQuery | null): string | null {
  return q ? JSON.stringify([q.kind, q.namespace, q.name, q.depth, q.direction, q.since ?? ""]) : null;
}

export function useLineageGraph(query: LineageQuery | null): LineageGraphState {
  const [model, setModel] = useState<GraphModel>(emptyModel);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState<Map<string, Side>>(new Map());
  const [fitToken, setFitToken] = useState(0);
  const [focus, setFocus] = useState<{ ids: string[]; token: number }>({ ids: [], token: 0 });
  const focusOn = useCallback((ids: string[]) => setFocus((f) => ({ ids, token: f.token + 1 })), []);
  const [reloadToken, setReloadToken] = useState(0);
  const modelRef = useRef(model);
  const generation = useRef(0);
  const chain = useRef<Promise<unknown>>(Promise.resolve());
  const pendingTiming = useRef<{ t0: number; t1: number; t2: number; nodes: number } | null>(null);
  const queryRef = useRef(query);
  queryRef.current = query;

  const commit = useCallback((m: GraphModel) => {
    modelRef.current = m;
    setModel(m);
  }, []);

  const key = queryKey(query);
  useEffect(() => {
    const q = queryRef.current;
    const gen = ++generation.current;
    chain.current = Promise.resolve();
    if (!q) {
      commit(emptyModel());
      setLoading(false);
      setError(null);
      return;
    }
    const ctl = new AbortController();
    setLoading(true);
    setError(null);
    setNotice(null);
    setBusy(new Map());
    const t0 = performance.now();
    api
      .lineage(q, ctl.signal)
      .then(async (res) => {
        const t1 = performance.now();
        const { model: merged } = mergeLineage(emptyModel(), res);
        merged.centerId = res.center;
        merged.positions = await layoutAll(merged);
        if (gen !== generation.current) return;
        const t2 = performance.now();
        pendingTiming.current = { t0, t1, t2, nodes: merged.nodes.size };
        commit(merged);
        setLoading(false);
        setFitToken((t) => t + 1);
      })
      .catch((e: unknown) => {
        if (ctl.signal.aborted || gen !== generation.current) return;
        commit(emptyModel());
        setError(toApiError(e));
        setLoading(false);
      });
    return () => ctl.abort();
  }, [key, reloadToken, commit]);

  // Record request-to-screen time once the laid-out graph is painted.
  useEffect(() => {
    const p = pendingTiming.current;
    if (!p) return;
    pendingTiming.current = null;
    requestAnimationFrame(() => {
      const t3 = performance.now();
      window.__lineageTiming = {
        nodes: p.nodes,
        fetchMs: Math.round(p.t1 - p.t0),
        layoutMs: Math.round(p.t2 - p.t1),
        totalMs: Math.round(t3 - p.t0),
      };
    });
  }, [model]);

  /** Runs model updates one after another, on the latest model, dropping them if the graph was reloaded. */
  const update = useCallback(
    (fn: (m: GraphModel) => Promise<GraphModel>): Promise<GraphModel> => {
      const gen = generation.current;
      const next = chain.current.then(async () => {
        if (gen !== generation.current) return modelRef.current;
        const m = await fn(modelRef.current);
        if (gen === generation.current) commit(m);
        return m;
      });
      chain.current = next.catch(() => undefined);
      return next;
    },
    [commit],
  );

  const mergeQuery = useCallback(
    async (q: LineageQuery, anchorId: string | null) => {
      const res = await api.lineage(q);
      return update(async (m) => {
        const { model: merged, added } = mergeLineage(m, res);
        merged.positions = await placeNewNodes(merged, added, anchorId);
        return merged;
      });
    },
    [update],
  );

  const expand = useCallback(
    (nodeId: string, side: Side) => {
      const node = modelRef.current.nodes.get(nodeId);
      if (!node) return;
      setBusy((b) => new Map(b).set(nodeId, side));
      const since = queryRef.current?.since;
      const done = () =>
        setBusy((b) => {
          const n = new Map(b);
          n.delete(nodeId);
          return n;
        });
      api
        .lineage({ kind: node.kind, namespace: node.namespace, name: node.name, depth: 1, direction: side, since })
        .then((res) =>
          update(async (m) => {
            const { model: merged, added } = mergeLineage(m, res);
            merged.expanded = new Set(m.expanded).add(`${res.center}|${side}`);
            merged.positions = await placeNewNodes(merged, added, res.center);
            focusOn([res.center, ...added]);
            return merged;
          }),
        )
        .catch((e: unknown) => setNotice(`Could not expand ${node.name}: ${toApiError(e).message}`))
        .finally(done);
    },
    [update, focusOn],
  );

  const addFromList = useCallback(
    (parentId: string, side: Side, item: LineageNode) =>
      update(async (m) => {
        const { model: merged, added } = addNeighbour(m, parentId, side, item);
        merged.positions = await placeNewNodes(merged, added, parentId);
        if (!merged.more.has(moreId(parentId, side))) merged.positions.delete(moreId(parentId, side));
        focusOn([parentId, item.id]);
        return merged;
      }),
    [update, focusOn],
  );

  const addLocal = useCallback(
    (nodes: LineageNode[], edges: GraphEdge[], anchorId: string | null) =>
      update(async (m) => {
        const { model: merged, added } = mergeLineage(m, { nodes, edges: [], collapsed: [] });
        for (const e of edges) if (merged.nodes.has(e.source) && merged.nodes.has(e.target)) merged.edges.set(edgeKey(e), e);
        merged.positions = await placeNewNodes(merged, added, anchorId);
        return merged;
      }),
    [update],
  );

  return {
    model,
    loading,
    error,
    notice,
    busy,
    fitToken,
    focus,
    reload: () => setReloadToken((t) => t + 1),
    dismissNotice: () => setNotice(null),
    expand,
    addFromList,
    mergeQuery,
    addLocal,
  };
}

export function identityOf(n: LineageNode): NodeIdentity {
  return { kind: n.kind, namespace: n.namespace, name: n.name };
}
