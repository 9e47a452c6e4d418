// The small "API key" dialog the explorer shows when the API answers 401 (read keys are on).
import { useId, useState } from "react";
import type { FormEvent } from "react";
import { api } from "../api";
import { toApiError } from "../common/useApi";
import { storeKey } from "./apiKey";

const REFUSED = "That API key was refused: it is not one of this server's read keys. Check it and try again.";

export function ApiKeyPrompt({ refused, onAccepted }: { refused: boolean; onAccepted: () => void }) {
  const [key, setKey] = useState("");
  const [checking, setChecking] = useState(false);
  const [problem, setProblem] = useState<string | null>(refused ? REFUSED : null);
  const titleId = useId();
  const inputId = useId();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const candidate = key.trim();
    if (!candidate) {
      setProblem("Enter an API key.");
      return;
    }
    setChecking(true);
    try {
      await api.access(undefined, candidate); // try the key before keeping it
      storeKey(candidate);
      onAccepted();
    } catch (err) {
      const error = toApiError(err);
      setProblem(error.status === 401 ? REFUSED : error.message);
      setChecking(false);
    }
  };

  return (
    <div className="key-overlay">
      <form
        className="key-dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        data-testid="api-key-prompt"
        onSubmit={submit}
      >
        <h2 id={titleId}>API key</h2>
        <p>This lineage explorer needs an API key to read the graph. Ask the team that runs it for a read key.</p>
        <label htmlFor={inputId}>API key</label>
        <input
          id={inputId}
          type="password"
          autoFocus
          autoComplete="off"
          spellCheck={false}
          data-testid="api-key-input"
          value={key}
          onChange={(e) => setKey(e.target.value)}
        />
        {problem && (
          <div className="key-problem" role="alert" data-testid="api-key-error">
            {problem}
          </div>
        )}
        <div className="key-actions">
          <button type="submit" className="btn btn-primary" disabled={checking} data-testid="api-key-submit">
            {checking ? "Checking…" : "Use key"}
          </button>
        </div>
        <p className="key-note">
          The key is kept in this browser tab only (until it closes) and sent as <code>Authorization: Bearer</code>.
        </p>
      </form>
    </div>
  );
}
