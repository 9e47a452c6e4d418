// Typed client for the lineage explorer API (/api/v1). All calls use relative URLs, and send the
// read API key (auth/apiKey) when there is one; a 401 asks the page for a key (onKeyNeeded).
import { currentKey, keyNeeded } from "./auth/apiKey";

export type NodeKind = "dataset" | "job";
export type RunState = "COMPLETED" | "RUNNING" | "FAILED" | "ABORTED" | "NEW";
export type Direction = "upstream" | "downstream" | "both";
export type Side = "upstream" | "downstream";
export type EdgeType = "CONSUMES" | "PRODUCES";

export interface DatasetRef {
  namespace: string;
  name: string;
}
export type JobRef = DatasetRef;

export interface RunSummary {
  runId: string;
  state: RunState;
  startedAt: string | null;
  endedAt: string | null;
  durationSeconds: number | null;
  errorMessage: string | null;
}

export interface LineageNode {
  id: string;
  kind: NodeKind;
  namespace: string;
  name: string;
  hops?: number;
  side?: "center" | Side;
  latestRun?: RunSummary | null;
  lastWrittenAt?: string | null;
  schemaChanged?: boolean;
}

export interface LineageEdge {
  id: string;
  source: string;
  target: string;
  type: EdgeType;
  lastSeen: string | null;
}

export interface CollapsedEntry {
  id: string;
  node: string;
  side: Side;
  count: number;
}

export interface LineageResponse {
  center: string;
  nodes: LineageNode[];
  edges: LineageEdge[];
  collapsed: CollapsedEntry[];
}

export type SearchKind = NodeKind | "column";
export interface SearchResult {
  id: string;
  kind: SearchKind;
  namespace: string;
  name: string;
  field: string | null;
  match: "exact" | "prefix" | "substring";
}
export interface SearchResponse {
  query: string;
  results: SearchResult[];
}

export interface NeighboursResponse {
  total: number;
  items: LineageNode[];
}

export interface SchemaField {
  name: string;
  type: string | null;
  description: string | null;
}

export type Facets = Record<string, unknown>;

export interface DatasetDetails {
  id: string;
  kind: "dataset";
  namespace: string;
  name: string;
  aliases: DatasetRef[];
  fields: SchemaField[];
  owners: string[];
  tags: string[];
  lastWrittenAt: string | null;
  schemaChanged: boolean;
  facets: Facets;
}

export interface JobDetails {
  id: string;
  kind: "job";
  namespace: string;
  name: string;
  type: string | null;
  owners: string[];
  sql: string | null;
  facets: Facets;
  runs: RunSummary[];
}

export interface RunLink {
  runId: string;
  state: RunState;
  job: JobRef;
}

export interface RunDetails extends RunSummary {
  job: JobRef;
  inputs: DatasetRef[];
  outputs: DatasetRef[];
  parent: RunLink | null;
  children: RunLink[];
  facets: Facets;
}

export type CauseReason = "FAILED" | "ABORTED" | "SCHEMA_CHANGED" | "ALTER" | "DROP";
export interface RootCauseSuspect {
  runId: string;
  job: JobRef;
  state: RunState;
  startedAt: string | null;
  endedAt: string | null;
  errorMessage: string | null;
  dataset: DatasetRef | null;
  hops: number;
  reasons: CauseReason[];
  relation: "upstream" | "child";
  via: string[];
}

export interface ImpactEntry {
  kind: NodeKind;
  namespace: string;
  name: string;
  hops: number;
  owners: string[];
}
export interface ImpactResponse {
  start: Partial<ImpactEntry>;
  depth: number;
  datasets: ImpactEntry[];
  jobs: ImpactEntry[];
}

export interface ColumnRef {
  namespace: string;
  name: string;
  field: string;
  hops: number;
  types: string[];
  subtypes: string[];
  masking: boolean;
}
export interface ColumnLineageResponse {
  upstream: ColumnRef[];
  downstream: ColumnRef[];
}

export interface AccessResponse {
  readKeys: boolean;
}

/** An error answered by the API (400/404/503 JSON body) or a failure to reach it. */
export class ApiError extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.reason = reason;
  }
}

type Params = Record<string, string | number | undefined | null>;

function query(params: Params): string {
  const usp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") usp.set(k, String(v));
  }
  return usp.toString();
}

function isErrorBody(x: unknown): x is { reason?: unknown; message?: unknown } {
  return typeof x === "object" && x !== null;
}

/** 401 reasons of the API (queries.access): no key sent, or a key that is not a read key. */
export const KEY_MISSING = "missing-api-key";
export const KEY_REFUSED = "invalid-api-key";

/** GET an API route. `trialKey`: send this key instead of the stored one, and leave a 401 to the caller. */
async function get<T>(path: string, params: Params, signal?: AbortSignal, trialKey?: string): Promise<T> {
  const url = `/api/v1/${path}?${query(params)}`;
  const key = trialKey ?? currentKey();
  const headers: Record<string, string> = { Accept: "application/json" };
  if (key) headers.Authorization = `Bearer ${key}`;
  let res: Response;
  try {
    res = await fetch(url, { signal, headers });
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError(0, "unreachable", "The lineage API could not be reached. Check that the server is running.");
  }
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    let reason = `http_${res.status}`;
    let message = `The server answered ${res.status} ${res.statusText}`.trim();
    if (isErrorBody(body)) {
      if (typeof body.reason === "string") reason = body.reason;
      if (typeof body.message === "string") message = body.message;
    }
    if (res.status === 401 && trialKey === undefined) keyNeeded({ refused: key !== null, message });
    throw new ApiError(res.status, reason, message);
  }
  if (body === null) throw new ApiError(res.status, "bad_response", "The server answered with something that is not JSON.");
  return body as T;
}

export interface NodeIdentity {
  kind: NodeKind;
  namespace: string;
  name: string;
}

export interface LineageQuery extends NodeIdentity {
  depth: number;
  direction: Direction;
  since?: string | null;
  limit?: number;
}

export const api = {
  /** Whether reading needs a key; answered 401 when it does and `key` (else the stored one) is not one. */
  access: (signal?: AbortSignal, key?: string) => get<AccessResponse>("access", {}, signal, key),
  search: (q: string, limit: number, signal?: AbortSignal) =>
    get<SearchResponse>("search", { q, limit }, signal),
  lineage: (q: LineageQuery, signal?: AbortSignal) =>
    get<LineageResponse>(
      "lineage",
      { kind: q.kind, namespace: q.namespace, name: q.name, depth: q.depth, direction: q.direction, since: q.since, limit: q.limit },
      signal,
    ),
  neighbours: (n: NodeIdentity, side: Side, q: string, offset: number, limit: number, signal?: AbortSignal) =>
    get<NeighboursResponse>("neighbours", { kind: n.kind, namespace: n.namespace, name: n.name, side, q, offset, limit }, signal),
  dataset: (ref: DatasetRef, signal?: AbortSignal) =>
    get<DatasetDetails>("dataset", { namespace: ref.namespace, name: ref.name }, signal),
  job: (ref: JobRef, signal?: AbortSignal) => get<JobDetails>("job", { namespace: ref.namespace, name: ref.name }, signal),
  run: (runId: string, signal?: AbortSignal) => get<RunDetails>("run", { runId }, signal),
  rootCause: (runId: string, depth: number, signal?: AbortSignal) =>
    get<RootCauseSuspect[]>("root-cause", { runId, depth }, signal),
  impact: (ref: DatasetRef, depth: number, signal?: AbortSignal) =>
    get<ImpactResponse>("impact", { namespace: ref.namespace, name: ref.name, depth }, signal),
  columnLineage: (ref: DatasetRef, field: string, depth: number, signal?: AbortSignal) =>
    get<ColumnLineageResponse>("column-lineage", { namespace: ref.namespace, name: ref.name, field, depth }, signal),
};

/** A stable key for a node from its identity (ids are opaque, identities are not). */
export function nodeKey(kind: NodeKind, namespace: string, name: string): string {
  return `${kind}\u0000${namespace}\u0000${name}`;
}
