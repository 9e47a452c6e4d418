import type { Facets } from "../api";

/** Every facet as pretty-printed JSON in its own collapsible section. */
export function FacetSections({ facets }: { facets: Facets }) {
  const names = Object.keys(facets ?? {}).sort();
  if (names.length === 0) return <div className="empty-note">No facets.</div>;
  return (
    <div className="facets" data-testid="facets">
      {names.map((name) => (
        <details key={name} className="facet" data-testid="facet" data-facet={name}>
          <summary>
            <span className="facet-name">{name}</span>
          </summary>
          <pre className="code-block">{JSON.stringify(facets[name], null, 2)}</pre>
        </details>
      ))}
    </div>
  );
}
