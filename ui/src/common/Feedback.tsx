import type { ApiError } from "../api";

const TITLES: Record<number, string> = {
  0: "Cannot reach the lineage API",
  400: "The request was not accepted",
  401: "An API key is needed",
  404: "Not found",
  503: "The lineage store is unavailable",
};

export function ErrorMessage({ error, onRetry }: { error: ApiError; onRetry?: () => void }) {
  const title = TITLES[error.status] ?? `Something went wrong (${error.status})`;
  return (
    <div className="error-box" role="alert" data-testid="error" data-status={error.status} data-reason={error.reason}>
      <div className="error-title">{title}</div>
      <div className="error-message">{error.message}</div>
      {error.reason && error.status !== 0 && <div className="error-reason">reason: {error.reason}</div>}
      {onRetry && (
        <button type="button" className="btn btn-small" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="loading" data-testid="loading" role="status">
      <span className="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

export function EmptyNote({ children }: { children: React.ReactNode }) {
  return <div className="empty-note">{children}</div>;
}
