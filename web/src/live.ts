/**
 * The live feed from the server (server-sent events): one EventSource for the page, shared by
 * whoever subscribes. `reconnected` is delivered when the connection came back after a break:
 * changes made meanwhile are not replayed, so a page should reload what it shows.
 */
import { useEffect, useRef } from 'preact/hooks';
import type { LiveDelta } from '../../src/dashboard/api-types.js';

export type LiveMessage = { type: 'reconnected' } | { type: 'delta'; delta: LiveDelta };
type Listener = (message: LiveMessage) => void;

const listeners = new Set<Listener>();
let source: EventSource | undefined;
let connections = 0;

function connect(): void {
  if (source !== undefined) return;
  source = new EventSource('/api/events');
  source.addEventListener('hello', () => {
    connections += 1;
    if (connections === 1) return;
    for (const listener of listeners) listener({ type: 'reconnected' });
  });
  source.addEventListener('delta', (event) => {
    const delta = JSON.parse((event as MessageEvent<string>).data) as LiveDelta;
    for (const listener of listeners) listener({ type: 'delta', delta });
  });
}

/** Calls `listener` with every live message while the component is mounted. */
export function useLive(listener: Listener): void {
  const latest = useRef(listener);
  latest.current = listener;
  useEffect(() => {
    const forward: Listener = (message) => latest.current(message);
    listeners.add(forward);
    connect();
    return () => void listeners.delete(forward);
  }, []);
}

/**
 * A function that runs `action` at most once per `ms`: a call inside the window schedules one
 * run at its end.
 */
export function useThrottle(action: () => void, ms: number): () => void {
  const latest = useRef(action);
  latest.current = action;
  const state = useRef<{ last: number; timer: number | undefined }>({ last: 0, timer: undefined });
  useEffect(() => () => window.clearTimeout(state.current.timer), []);
  return useRef(() => {
    const s = state.current;
    if (s.timer !== undefined) return;
    const wait = Math.max(0, s.last + ms - Date.now());
    s.timer = window.setTimeout(() => {
      s.timer = undefined;
      s.last = Date.now();
      latest.current();
    }, wait);
  }).current;
}
