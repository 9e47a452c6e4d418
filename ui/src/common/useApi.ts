import { useEffect, useState } from "react";
import { ApiError } from "../api";

export interface ApiState<T> {
  data: T | null;
  error: ApiError | null;
  loading: boolean;
}

/** Runs an API call when `key` changes (null: no call) and keeps its data, error and loading state. */
export function useApi<T>(key: string | null, call: (signal: AbortSignal) => Promise<T>): ApiState<T> {
  const [state, setState] = useState<ApiState<T>>({ data: null, error: null, loading: key !== null });
  useEffect(() => {
    if (key === null) {
      setState({ data: null, error: null, loading: false });
      return;
    }
    const ctl = new AbortController();
    setState({ data: null, error: null, loading: true });
    call(ctl.signal).then(
      (data) => {
        if (!ctl.signal.aborted) setState({ data, error: null, loading: false });
      },
      (e: unknown) => {
        if (ctl.signal.aborted) return;
        setState({ data: null, error: toApiError(e), loading: false });
      },
    );
    return () => ctl.abort();
    // `call` is expected to change with `key`.
  }, [key]);
  return state;
}

export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  return new ApiError(0, "client_error", e instanceof Error ? e.message : String(e));
}
