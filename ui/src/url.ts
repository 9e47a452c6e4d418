// The view state lives in the query string so that every view can be pasted in a ticket.
import { useCallback, useEffect, useState } from "react";
import type { Direction, NodeIdentity, NodeKind, Side } from "./api";

export interface ViewState {
  /** The node the graph is centred on. */
  center: NodeIdentity | null;
  depth: number;
  direction: Direction;
  since: string | null;
  /** The node whose details are shown (defaults to the centre). */
  selected: NodeIdentity | null;
  /** A run whose details are shown. */
  run: string | null;
  /** Root cause analysis of this run. */
  cause: string | null;
  /** Blast radius of the selected dataset. */
  impact: boolean;
  /** Column lineage of this field of the selected dataset. */
  column: string | null;
  /** "+K more" list of the selected node on this side. */
  more: Side | null;
}

export const DEFAULT_DEPTH = 2;
export const MAX_DEPTH = 20;

function kindOf(v: string | null): NodeKind | null {
  return v === "dataset" || v === "job" ? v : null;
}

function identity(p: URLSearchParams, prefix: string): NodeIdentity | null {
  const kind = kindOf(p.get(prefix ? `${prefix}Kind` : "kind"));
  const namespace = p.get(prefix ? `${prefix}Namespace` : "namespace");
  const name = p.get(prefix ? `${prefix}Name` : "name");
  return kind && namespace !== null && name ? { kind, namespace, name } : null;
}

export function parseView(search: string): ViewState {
  const p = new URLSearchParams(search);
  const depthRaw = Number.parseInt(p.get("depth") ?? "", 10);
  const depth = Number.isFinite(depthRaw) ? Math.min(MAX_DEPTH, Math.max(1, depthRaw)) : DEFAULT_DEPTH;
  const dir = p.get("direction");
  const more = p.get("more");
  return {
    center: identity(p, ""),
    depth,
    direction: dir === "upstream" || dir === "downstream" ? dir : "both",
    since: p.get("since") || null,
    selected: identity(p, "sel"),
    run: p.get("run") || null,
    cause: p.get("cause") || null,
    impact: p.get("impact") === "1",
    column: p.get("column") || null,
    more: more === "upstream" || more === "downstream" ? more : null,
  };
}

export function serializeView(v: ViewState): string {
  const p = new URLSearchParams();
  if (v.center) {
    p.set("kind", v.center.kind);
    p.set("namespace", v.center.namespace);
    p.set("name", v.center.name);
    p.set("depth", String(v.depth));
    p.set("direction", v.direction);
    if (v.since) p.set("since", v.since);
  }
  if (v.selected) {
    p.set("selKind", v.selected.kind);
    p.set("selNamespace", v.selected.namespace);
    p.set("selName", v.selected.name);
  }
  if (v.run) p.set("run", v.run);
  if (v.cause) p.set("cause", v.cause);
  if (v.impact) p.set("impact", "1");
  if (v.column) p.set("column", v.column);
  if (v.more) p.set("more", v.more);
  const s = p.toString();
  return s ? `?${s}` : "";
}

/** Panels that are shown on top of the selection; choosing a new node clears them. */
export const NO_PANEL: Pick<ViewState, "run" | "cause" | "impact" | "column" | "more"> = {
  run: null,
  cause: null,
  impact: false,
  column: null,
  more: null,
};

export function sameIdentity(a: NodeIdentity | null, b: NodeIdentity | null): boolean {
  if (!a || !b) return a === b;
  return a.kind === b.kind && a.namespace === b.namespace && a.name === b.name;
}

export type Navigate = (patch: Partial<ViewState>, opts?: { replace?: boolean }) => void;

/** The view state from the URL, and a navigate function that pushes history entries. */
export function useViewState(): [ViewState, Navigate] {
  const [search, setSearch] = useState(() => window.location.search);
  useEffect(() => {
    const onPop = () => setSearch(window.location.search);
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);
  const view = parseView(search);
  const navigate = useCallback<Navigate>((patch, opts) => {
    const next = { ...parseView(window.location.search), ...patch };
    const qs = serializeView(next);
    const url = `${window.location.pathname}${qs}`;
    if (url === `${window.location.pathname}${window.location.search}`) return;
    if (opts?.replace) window.history.replaceState(null, "", url);
    else window.history.pushState(null, "", url);
    setSearch(qs);
  }, []);
  return [view, navigate];
}
