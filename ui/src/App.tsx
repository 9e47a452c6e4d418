import { useCallback, useEffect, useMemo, useState } from "react";
import type { LineageNode, NodeIdentity, SearchResult, Side } from "./api";
import { api, nodeKey } from "./api";
import { ColumnLineageSection } from "./analysis/ColumnLineageSection";
import { ImpactPanel } from "./analysis/ImpactPanel";
import { NeighboursPanel } from "./analysis/NeighboursPanel";
import { RootCausePanel } from "./analysis/RootCausePanel";
import { useAnalysis } from "./analysis/useAnalysis";
import { ApiKeyPrompt } from "./auth/ApiKeyPrompt";
import type { KeyNeeded } from "./auth/apiKey";
import { currentKey, onKeyNeeded, storeKey } from "./auth/apiKey";
import { useShowInGraph } from "./analysis/useShowInGraph";
import { ErrorMessage, Loading } from "./common/Feedback";
import { LineageLogo } from "./common/Icons";
import { useApi } from "./common/useApi";
import { DatasetDetails } from "./details/DatasetDetails";
import { JobDetails } from "./details/JobDetails";
import { RunDetails } from "./details/RunDetails";
import { GraphToolbar } from "./graph/GraphToolbar";
import { LineageGraph } from "./graph/LineageGraph";
import { findByKey, keyOf } from "./graph/model";
import { identityOf, useLineageGraph } from "./graph/useLineageGraph";
import { SearchBox } from "./search/SearchBox";
import { StartPage } from "./StartPage";
import type { Navigate, ViewState } from "./url";
import { NO_PANEL, sameIdentity, useViewState } from "./url";

/** The explorer, behind the API key prompt when the API answers 401 (LINEAGE_READ_API_KEYS set). */
export function App() {
  const [need, setNeed] = useState<KeyNeeded | null>(null);
  const [hasKey, setHasKey] = useState(() => currentKey() !== null);
  const [epoch, setEpoch] = useState(0); // a new key remounts the explorer: every view asks again with it

  useEffect(
    () =>
      onKeyNeeded((n) => {
        if (n.refused) storeKey(null);
        setHasKey(false);
        setNeed(n);
      }),
    [],
  );
  useEffect(() => {
    // Ask at once whether reading needs a key, so that the prompt comes before the first search.
    const ctl = new AbortController();
    api.access(ctl.signal).catch(() => undefined); // a 401 opens the prompt through onKeyNeeded
    return () => ctl.abort();
  }, [epoch]);

  const accepted = useCallback(() => {
    setNeed(null);
    setHasKey(true);
    setEpoch((e) => e + 1);
  }, []);
  const forget = useCallback(() => {
    storeKey(null);
    setHasKey(false);
    setEpoch((e) => e + 1);
  }, []);

  const forgetButton = hasKey ? (
    <button type="button" className="btn-link key-forget" data-testid="api-key-forget" onClick={forget}>
      Forget API key
    </button>
  ) : null;
  return (
    <>
      <Explorer key={epoch} accessory={forgetButton} />
      {need && <ApiKeyPrompt refused={need.refused} onAccepted={accepted} />}
    </>
  );
}

function Explorer({ accessory }: { accessory: React.ReactNode }) {
  const [view, navigate] = useViewState();

  const openSearchResult = useCallback(
    (r: SearchResult) => {
      const kind = r.kind === "job" ? "job" : "dataset";
      navigate({ center: { kind, namespace: r.namespace, name: r.name }, selected: null, ...NO_PANEL, column: r.kind === "column" ? r.field : null });
    },
    [navigate],
  );

  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href="/" onClick={(e) => { e.preventDefault(); navigate({ center: null, selected: null, ...NO_PANEL }); }}>
          <LineageLogo />
          <span>Lineage explorer</span>
        </a>
        <SearchBox onOpen={openSearchResult} autoFocus={!view.center && !view.run} />
        {accessory}
      </header>
      {view.center ? (
        <Workspace view={view} navigate={navigate} />
      ) : view.run ? (
        <RunResolver runId={view.run} navigate={navigate} />
      ) : (
        <StartPage />
      )}
    </div>
  );
}

/** A bare `?run=ID` link: look up the run's job and centre the graph on it. */
function RunResolver({ runId, navigate }: { runId: string; navigate: Navigate }) {
  const { data, error } = useApi(runId, (s) => api.run(runId, s));
  useEffect(() => {
    if (data) navigate({ center: { kind: "job", ...data.job }, selected: null }, { replace: true });
  }, [data, navigate]);
  return <div className="center-message">{error ? <ErrorMessage error={error} /> : <Loading label="Opening run…" />}</div>;
}

function Workspace({ view, navigate }: { view: ViewState; navigate: Navigate }) {
  const center = view.center!;
  const selected = view.selected ?? center;
  const query = useMemo(
    () => ({ ...center, depth: view.depth, direction: view.direction, since: view.since }),
    [center.kind, center.namespace, center.name, view.depth, view.direction, view.since],
  );
  const graph = useLineageGraph(query);
  const impactOf = view.impact && selected.kind === "dataset" ? selected : null;
  const columnOf = view.column && selected.kind === "dataset" ? selected : null;
  const analysis = useAnalysis(view.cause, impactOf, columnOf, view.column);
  useShowInGraph(graph, analysis, view.cause, impactOf, columnOf, view.column);

  const select = useCallback(
    (n: NodeIdentity) => navigate({ selected: sameIdentity(n, center) ? null : n, ...NO_PANEL }),
    [navigate, center],
  );
  /** Shows a node named in a panel: select it when it is in the graph, otherwise centre the graph on it. */
  const openNode = useCallback(
    (n: NodeIdentity) => {
      if (findByKey(graph.model, n.kind, n.namespace, n.name)) select(n);
      else navigate({ center: n, selected: null, ...NO_PANEL });
    },
    [graph.model, select, navigate],
  );
  const centreOn = useCallback(
    (n: NodeIdentity) => navigate({ center: { kind: n.kind, namespace: n.namespace, name: n.name }, selected: null, ...NO_PANEL }),
    [navigate],
  );

  const actions = useMemo(
    () => ({
      expand: graph.expand,
      openMore: (nodeId: string, side: Side) => {
        const n = graph.model.nodes.get(nodeId);
        if (n) navigate({ selected: sameIdentity(identityOf(n), center) ? null : identityOf(n), ...NO_PANEL, more: side });
      },
    }),
    [graph.expand, graph.model, navigate, center],
  );

  const selectedKey = nodeKey(selected.kind, selected.namespace, selected.name);
  const selectedNode = findByKey(graph.model, selected.kind, selected.namespace, selected.name);

  const addNeighbour = (side: Side) => (item: LineageNode) => {
    if (!selectedNode) return;
    const present = graph.model.nodes.has(item.id);
    if (!present) void graph.addFromList(selectedNode.id, side, item);
  };

  let panel: React.ReactNode;
  if (view.more) {
    panel = (
      <NeighboursPanel
        node={selected}
        side={view.more}
        inGraph={(item) => graph.model.nodes.has(item.id) || !!findByKey(graph.model, item.kind, item.namespace, item.name)}
        onAdd={addNeighbour(view.more)}
        onOpen={centreOn}
        onBack={() => navigate({ more: null })}
      />
    );
  } else if (view.cause) {
    panel = (
      <RootCausePanel
        runId={view.cause}
        state={analysis.rootCause}
        run={analysis.causeRun.data}
        onBack={() => navigate({ cause: null })}
        onOpenNode={openNode}
        onOpenRun={(runId) => navigate({ run: runId, cause: null })}
      />
    );
  } else if (view.run) {
    panel = (
      <RunDetails
        runId={view.run}
        onBack={() => navigate({ run: null })}
        onOpenRun={(runId) => navigate({ run: runId })}
        onOpenNode={openNode}
        onRootCause={(runId) => navigate({ cause: runId })}
        onImpact={(d) => navigate({ ...NO_PANEL, selected: { kind: "dataset", ...d }, impact: true })}
      />
    );
  } else if (impactOf) {
    panel = <ImpactPanel dataset={impactOf} state={analysis.impact} onBack={() => navigate({ impact: false })} onOpenNode={openNode} />;
  } else if (selected.kind === "dataset") {
    panel = (
      <DatasetDetails
        dataset={selected}
        column={view.column}
        columnLineage={
          view.column ? (
            <ColumnLineageSection field={view.column} state={analysis.columns} onClose={() => navigate({ column: null })} onOpenNode={openNode} />
          ) : null
        }
        onChooseColumn={(field) => navigate({ column: field })}
        onImpact={() => navigate({ impact: true, column: null })}
      />
    );
  } else {
    panel = <JobDetails job={selected} onOpenRun={(runId) => navigate({ run: runId })} onRootCause={(runId) => navigate({ cause: runId })} />;
  }

  return (
    <main className="workspace">
      <section className="graph-area">
        <GraphToolbar
          depth={view.depth}
          direction={view.direction}
          since={view.since}
          nodeCount={graph.model.nodes.size}
          loading={graph.loading}
          onChange={(patch) => navigate(patch)}
        />
        <div
          className="graph-canvas"
          data-testid="graph"
          data-state={graph.loading ? "loading" : graph.error ? "error" : "ready"}
          data-node-count={graph.model.nodes.size}
          data-center-id={graph.model.centerId ?? undefined}
        >
          {graph.error ? (
            <div className="center-message">
              <ErrorMessage error={graph.error} onRetry={graph.reload} />
            </div>
          ) : (
            <LineageGraph
              model={graph.model}
              highlights={analysis.highlights}
              selectedKey={selectedKey}
              busy={graph.busy}
              fitToken={graph.fitToken}
              focus={graph.focus}
              onSelect={(n) => select(identityOf(n))}
              actions={actions}
            />
          )}
          {graph.loading && (
            <div className="graph-overlay">
              <Loading label="Loading lineage…" />
            </div>
          )}
          {graph.notice && (
            <div className="notice" role="alert" data-testid="notice">
              {graph.notice}
              <button type="button" className="btn-link" onClick={graph.dismissNotice}>
                dismiss
              </button>
            </div>
          )}
          {analysis.highlights.size > 0 && <HighlightLegend highlights={analysis.highlights} model={graph.model} />}
        </div>
      </section>
      <aside className="side-panel" data-testid="side-panel">
        {panel}
      </aside>
    </main>
  );
}

function HighlightLegend({ highlights, model }: { highlights: Map<string, string>; model: { nodes: Map<string, LineageNode> } }) {
  const shown = [...model.nodes.values()].filter((n) => highlights.has(keyOf(n)) && highlights.get(keyOf(n)) !== "origin").length;
  const kinds = new Set(highlights.values());
  const label = kinds.has("cause") ? "suspected causes" : kinds.has("affected") ? "affected downstream" : "datasets with this column";
  const total = [...highlights.values()].filter((h) => h !== "origin").length;
  return (
    <div className="legend" data-testid="highlight-legend">
      <span className={`legend-swatch legend-${kinds.has("cause") ? "cause" : kinds.has("affected") ? "affected" : "column"}`} />
      {shown.toLocaleString()} of {total.toLocaleString()} {label} shown in the graph
    </div>
  );
}
