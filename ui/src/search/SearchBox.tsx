// The search box at the top: ranked matches as you type, Enter or click opens the lineage.
import { useEffect, useId, useRef, useState } from "react";
import type { ApiError, SearchResult } from "../api";
import { api } from "../api";
import { KindIcon, SearchIcon } from "../common/Icons";
import { toApiError } from "../common/useApi";

const DEBOUNCE_MS = 150;

export function SearchBox({ onOpen, autoFocus }: { onOpen: (r: SearchResult) => void; autoFocus?: boolean }) {
  const [text, setText] = useState("");
  const [results, setResults] = useState<SearchResult[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(false);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const listId = useId();
  const boxRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const q = text.trim();
    if (!q) {
      setResults([]);
      setError(null);
      setLoading(false);
      return;
    }
    const ctl = new AbortController();
    setLoading(true);
    const timer = window.setTimeout(() => {
      api.search(q, 20, ctl.signal).then(
        (res) => {
          setResults(res.results);
          setError(null);
          setActive(0);
          setLoading(false);
        },
        (e: unknown) => {
          if (ctl.signal.aborted) return;
          setError(toApiError(e));
          setResults([]);
          setLoading(false);
        },
      );
    }, DEBOUNCE_MS);
    return () => {
      window.clearTimeout(timer);
      ctl.abort();
    };
  }, [text]);

  useEffect(() => {
    const onDoc = (e: MouseEvent) => {
      if (boxRef.current && !boxRef.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", onDoc);
    return () => document.removeEventListener("mousedown", onDoc);
  }, []);

  const choose = (r: SearchResult) => {
    setOpen(false);
    onOpen(r);
  };

  const showList = open && text.trim() !== "";

  return (
    <div className="search" ref={boxRef}>
      <div className="search-field">
        <SearchIcon />
        <input
          type="search"
          data-testid="search-input"
          placeholder="Search tables, jobs and columns"
          value={text}
          autoFocus={autoFocus}
          role="combobox"
          aria-expanded={showList}
          aria-controls={listId}
          aria-autocomplete="list"
          onFocus={() => setOpen(true)}
          onChange={(e) => {
            setText(e.target.value);
            setOpen(true);
          }}
          onKeyDown={(e) => {
            if (e.key === "ArrowDown") {
              e.preventDefault();
              setActive((a) => Math.min(a + 1, results.length - 1));
            } else if (e.key === "ArrowUp") {
              e.preventDefault();
              setActive((a) => Math.max(a - 1, 0));
            } else if (e.key === "Enter") {
              const r = results[active];
              if (r) choose(r);
            } else if (e.key === "Escape") {
              setOpen(false);
            }
          }}
        />
        {loading && <span className="spinner spinner-small" aria-label="Searching" />}
      </div>
      {showList && (
        <div className="search-popup" id={listId} role="listbox" data-testid="search-results">
          {error && <div className="search-note error-text">{error.message}</div>}
          {!error && !loading && results.length === 0 && (
            <div className="search-note" data-testid="search-empty">
              No table, job or column matches “{text.trim()}”.
            </div>
          )}
          {results.map((r, i) => (
            <div
              key={`${r.kind}|${r.id}|${r.field ?? ""}`}
              role="option"
              aria-selected={i === active}
              className={`search-result${i === active ? " is-active" : ""}`}
              data-testid="search-result"
              data-kind={r.kind}
              data-name={r.name}
              data-field={r.field ?? undefined}
              onMouseEnter={() => setActive(i)}
              onMouseDown={(e) => e.preventDefault()}
              onClick={() => choose(r)}
            >
              <span className={`kind-chip kind-${r.kind}`}>
                <KindIcon kind={r.kind} size={14} />
                {r.kind}
              </span>
              <span className="search-result-text">
                <span className="search-result-name">
                  {r.kind === "column" ? (
                    <>
                      <strong>{r.field}</strong>
                      <span className="muted"> in {r.name}</span>
                    </>
                  ) : (
                    <strong>{r.name}</strong>
                  )}
                </span>
                <span className="search-result-ns">{r.namespace}</span>
              </span>
              <span className="match-tag">{r.match}</span>
            </div>
          ))}
        </div>
      )}
    </div>
  );
}
