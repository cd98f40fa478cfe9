// The renderer's only door to the engine. In Electron it is the preload's `window.eora`
// (IPC); in a browser it is the headless server (HTTP for calls, a WebSocket for progress).
// Both carry the same contract (app/contract), so views never know which one they use.
import { ContractError } from '../../../app/contract/errors.js';
import type {
  CallRequest,
  CallResponse,
  EoraBridge,
  Method,
  Params,
  Progress,
  ProgressEvent,
  Result,
} from '../../../app/contract/index.js';

export interface CallOptions {
  onProgress?: (progress: Progress) => void;
  /** Aborting rejects the call at once with a `cancelled` ContractError and asks the engine to stop. */
  signal?: AbortSignal;
  /**
   * With a signal: after abort, wait for the engine's own answer (it has really stopped, or
   * finished first) instead of rejecting at once. Jobs use it so a resume never races the stop.
   */
  waitForStop?: boolean;
}

export interface Engine {
  transport: 'ipc' | 'http';
  call<M extends Method>(method: M, params: Params<M>, options?: CallOptions): Promise<Result<M>>;
  /** Asks the engine to stop a call by its id, e.g. a job this page found with `jobs.active`. */
  cancel(id: string): Promise<void>;
  /** Native model picker; only in Electron. */
  pickModel?: () => Promise<string | null>;
  /** Native folder picker; only in Electron. */
  pickFolder?: () => Promise<string | null>;
}

declare global {
  interface Window {
    eora?: EoraBridge;
  }
}

interface Transport {
  send(request: CallRequest): Promise<CallResponse>;
  cancel(id: string): Promise<void>;
  onProgress(listener: (event: ProgressEvent) => void): void;
}

let counter = 0;
const newId = () => `r${Date.now().toString(36)}${(++counter).toString(36)}`;

const cancelled = () => new ContractError('cancelled', 'cancelled');

function createEngine(kind: Engine['transport'], transport: Transport, pickModel?: Engine['pickModel'], pickFolder?: Engine['pickFolder']): Engine {
  const listeners = new Map<string, (progress: Progress) => void>();
  transport.onProgress((event) => listeners.get(event.id)?.(event.progress));
  return {
    transport: kind,
    pickModel,
    pickFolder,
    cancel: (id) => transport.cancel(id),
    async call(method, params, options = {}) {
      const { signal, onProgress } = options;
      if (signal?.aborted) throw cancelled();
      const id = newId();
      if (onProgress) listeners.set(id, onProgress);
      let onAbort = () => {};
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => {
          void transport.cancel(id).catch(() => {});
          if (!options.waitForStop) reject(cancelled());
        };
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const response = await Promise.race([transport.send({ id, method, params }), aborted]);
        if (!response.ok) throw new ContractError(response.error.code, response.error.message);
        return response.result as Result<typeof method>;
      } finally {
        listeners.delete(id);
        signal?.removeEventListener('abort', onAbort);
      }
    },
  };
}

function ipcTransport(bridge: EoraBridge): Transport {
  return { send: (r) => bridge.call(r), cancel: (id) => bridge.cancel(id), onProgress: (l) => void bridge.onProgress(l) };
}

/** The server's token arrives once in the URL; keep it for this tab and drop it from the address bar. */
function serverToken(): string {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    sessionStorage.setItem('eora-token', fromUrl);
    url.searchParams.delete('token');
    history.replaceState(null, '', url);
  }
  return fromUrl ?? sessionStorage.getItem('eora-token') ?? '';
}

function httpTransport(): Transport {
  const token = serverToken();
  const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` };
  const progressListeners: ((event: ProgressEvent) => void)[] = [];
  let retryMs = 1000;
  const connect = () => {
    const socket = new WebSocket(
      `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/events?token=${encodeURIComponent(token)}`,
    );
    socket.onopen = () => (retryMs = 1000);
    socket.onmessage = (message) => {
      const event = JSON.parse(String(message.data)) as ProgressEvent;
      for (const listener of progressListeners) listener(event);
    };
    // The server went away (or restarted): try again, backing off to one attempt a minute.
    socket.onclose = () => {
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 60_000);
    };
  };
  connect();
  const post = async (path: string, body: unknown): Promise<CallResponse> => {
    let response: Response;
    try {
      response = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body) });
    } catch (error) {
      throw new ContractError('engine', `cannot reach the engine server: ${(error as Error).message}`);
    }
    const text = await response.text();
    try {
      return JSON.parse(text) as CallResponse;
    } catch {
      throw new ContractError('engine', `engine server answered HTTP ${response.status}: ${text.slice(0, 200)}`);
    }
  };
  return {
    send: (request) => post('/api/call', request),
    cancel: async (id) => void (await post('/api/cancel', { id, method: 'cancel', params: null })),
    onProgress: (listener) => void progressListeners.push(listener),
  };
}

export const engine: Engine = window.eora
  ? createEngine('ipc', ipcTransport(window.eora), () => window.eora!.pickModel(), () => window.eora!.pickFolder())
  : createEngine('http', httpTransport());

export function isCancelled(error: unknown): boolean {
  return error instanceof ContractError && error.code === 'cancelled';
}

/** The message to show a user for a failed call. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
