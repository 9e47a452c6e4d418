// The read API key (LINEAGE_READ_API_KEYS on the server): kept in sessionStorage, so for this tab
// only and until it closes, and sent as `Authorization: Bearer <key>` on every API call.

const STORAGE_KEY = "lineage.readApiKey";

export function storedKey(): string | null {
  try {
    return window.sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage blocked: the prompt asks again after a reload
  }
}

export function storeKey(key: string | null): void {
  try {
    if (key) window.sessionStorage.setItem(STORAGE_KEY, key);
    else window.sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // storage blocked: the key lives as long as this page
  }
  memoryKey = key;
}

let memoryKey: string | null = null;

/** The key to send: the stored one, else one given while storage was blocked. */
export function currentKey(): string | null {
  return storedKey() ?? memoryKey;
}

/** Why the API wants a key: none was sent, or the one sent was refused. */
export interface KeyNeeded {
  refused: boolean;
  message: string;
}

type Listener = (need: KeyNeeded) => void;
const listeners = new Set<Listener>();

/** Called whenever an API call is answered 401; returns the unsubscribe. */
export function onKeyNeeded(listener: Listener): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

export function keyNeeded(need: KeyNeeded): void {
  for (const listener of listeners) listener(need);
}
