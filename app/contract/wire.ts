// The envelope both transports use: a call with a caller-chosen id, progress events tagged
// with that id, and a response. IPC sends these objects as they are; HTTP sends them as JSON.
import type { Method, WireError } from './methods.js';
import type { Progress } from './results.js';

export interface CallRequest {
  /** Chosen by the caller, unique among its calls in flight; used to cancel and for progress. */
  id: string;
  method: Method;
  params: unknown;
}

export type CallResponse = { ok: true; result: unknown } | { ok: false; error: WireError };

export interface ProgressEvent {
  id: string;
  progress: Progress;
}

const callIdPattern = /^[A-Za-z0-9_-]{1,64}$/;

/** Checks the envelope (not the params: those are checked per method). */
export function parseCallRequest(raw: unknown): { id: string; method: unknown; params: unknown } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new TypeError('request must be a JSON object {id, method, params}');
  }
  const { id, method, params } = raw as Record<string, unknown>;
  if (typeof id !== 'string' || !callIdPattern.test(id)) {
    throw new TypeError('request id must be 1-64 characters of [A-Za-z0-9_-]');
  }
  return { id, method, params };
}
