// Sessions keyed by graph signature. A signature names everything a graph's structure depends
// on (shape constants, variant flags) and nothing it does not (weights are inputs), so every
// layer of a model, and every compressed/compensated variant of it, shares one session.
// Building a session costs 60–100 ms for the first in a process and ~1 ms after; a run ~25 µs.
import { Session, type Device } from './runtime.js';

export class SessionCache {
  private readonly sessions = new Map<string, Promise<Session>>();
  private released = false;

  constructor(
    readonly device: Device = 'cpu',
    private readonly threads = 0,
    /** ORT's per-session memory arena: see SessionOptions.memArena (off unless asked). */
    private memArena = false,
  ) {}

  /** Sets the arena policy; only before the first session is built (sessions keep theirs). */
  useMemArena(on: boolean): void {
    if (this.sessions.size > 0 && on !== this.memArena) throw new Error('SessionCache: the arena policy is fixed once a session exists');
    this.memArena = on;
  }

  /** The session for `signature`, building the graph with `build()` the first time. */
  get(signature: string, build: () => Uint8Array): Promise<Session> {
    if (this.released) throw new Error('SessionCache: used after release()');
    let session = this.sessions.get(signature);
    if (!session) {
      session = Session.create(build(), signature, { device: this.device, threads: this.threads, memArena: this.memArena });
      this.sessions.set(signature, session);
      // A failed build is not cached, so a later call reports the error again rather than a stale promise.
      session.catch(() => this.sessions.delete(signature));
    }
    return session;
  }

  /** Whether sessions built from now on get ORT's per-session memory arena. */
  get memArenaOn(): boolean {
    return this.memArena;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Frees every session; the cache cannot be used afterwards. */
  async release(): Promise<void> {
    this.released = true;
    const pending = [...this.sessions.values()];
    this.sessions.clear();
    for (const session of await Promise.allSettled(pending)) {
      if (session.status === 'fulfilled') await session.value.release();
    }
  }
}
