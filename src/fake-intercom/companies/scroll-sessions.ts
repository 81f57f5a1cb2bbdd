import { randomUUID } from 'node:crypto';
import type { CompanyJson } from './company-fixtures.js';

/**
 * The companies scroll as a state machine (brief §5.1, §8.1-8.4). One scroll may be open per
 * workspace; it serves a snapshot taken when it opened, 100 companies a page, always under the same
 * `scroll_param`. It closes when it ends (empty page, or 404 in endWith404 mode), when it idles for
 * `idleMs` (checked lazily against the clock, so no timers), or when an injected 500 kills it. A closed
 * scroll's param answers 404 for ever.
 */

/** Fixed by Intercom; there is no page-size parameter (brief §5.1). */
export const SCROLL_PAGE_SIZE = 100;

export type ScrollEnd = 'empty' | '404' | 'expired' | 'server_error';

export interface ScrollFailureRule {
  /** The failure answers the request for page `afterPages + 1`. */
  afterPages: number;
  /**
   * `server_error`: a 500 that kills the scroll; `expire`: the param answers 404 as if it idled out;
   * `end_early`: an empty page that ends the scroll too soon (afterPages 0: an empty first page), as a
   * truncated scroll would look to a client.
   */
  kind: 'server_error' | 'expire' | 'end_early';
}

export interface ScrollSessionStats {
  openedAt: number;
  closedAt: number | null;
  pages: number;
  endedBy: ScrollEnd | null;
}

export interface ScrollStats {
  scrollsOpened: number;
  /** Requests waiting right now at a holdScroll() gate. */
  heldRequests: number;
  scrollExistsRejections: number;
  pagesServed: number;
  sessions: ScrollSessionStats[];
}

export type ScrollOutcome =
  | { kind: 'page'; scrollParam: string; data: readonly CompanyJson[] }
  | { kind: 'scroll_exists' }
  | { kind: 'not_found' }
  | { kind: 'server_error' };

interface Session extends ScrollSessionStats {
  param: string;
  snapshot: readonly CompanyJson[];
  position: number;
  lastActivityAt: number;
  /** Opened by openScrollAsOtherClient(): it blocks ours but nobody pages through it. */
  otherClient: boolean;
  failure: ScrollFailureRule | undefined;
}

export interface ScrollDeps {
  now(): number;
  snapshot(): readonly CompanyJson[];
  settings: { scrollIdleMs: number; endWith404: boolean };
}

export class ScrollSessions {
  private readonly sessions: Session[] = [];
  private readonly byParam = new Map<string, Session>();
  private open: Session | undefined;
  /** A failure injected while no scroll of ours was open waits for the next one. */
  private pendingFailure: ScrollFailureRule | undefined;
  private readonly counters = { scrollsOpened: 0, scrollExistsRejections: 0, pagesServed: 0 };
  private hold: { afterPages: number; released: Promise<void> } | undefined;
  private heldRequests = 0;

  constructor(private readonly deps: ScrollDeps) {}

  /** `GET /companies/scroll` without a param: open a scroll and serve its first page. */
  start(): ScrollOutcome {
    this.expireIdle();
    if (this.open !== undefined) {
      this.counters.scrollExistsRejections++;
      return { kind: 'scroll_exists' };
    }
    const session = this.create(false);
    this.counters.scrollsOpened++;
    session.failure = this.pendingFailure;
    this.pendingFailure = undefined;
    return this.serve(session, true);
  }

  /** `GET /companies/scroll?scroll_param=…`: the next page of that scroll. */
  next(param: string): ScrollOutcome {
    this.expireIdle();
    const session = this.byParam.get(param);
    if (session === undefined || session.closedAt !== null) return { kind: 'not_found' };
    return this.serve(session, false);
  }

  openAsOtherClient(): void {
    this.expireIdle();
    if (this.open !== undefined) throw new Error('openScrollAsOtherClient: a scroll is already open for this workspace');
    this.create(true);
  }

  injectFailure(rule: ScrollFailureRule): void {
    if (!Number.isInteger(rule.afterPages) || rule.afterPages < 0) {
      throw new Error(`injectScrollFailure afterPages must be an integer >= 0, got ${rule.afterPages}`);
    }
    if (rule.kind === 'expire' && rule.afterPages === 0) {
      throw new Error('injectScrollFailure: an expiry needs afterPages >= 1 (page 1 is served when the scroll opens)');
    }
    if (!['expire', 'server_error', 'end_early'].includes(rule.kind)) throw new Error(`unknown scroll failure kind '${String(rule.kind)}'`);
    this.expireIdle();
    if (this.open !== undefined && !this.open.otherClient) this.open.failure = { ...rule };
    else this.pendingFailure = { ...rule };
  }

  /**
   * Until `release()` is called, the request for page `afterPages + 1` of any scroll waits (the
   * session stays open and does not idle out): a test can act while a client is mid-scroll.
   */
  holdAt(afterPages: number): () => void {
    if (!Number.isInteger(afterPages) || afterPages < 1)
      throw new Error(`holdScroll afterPages must be an integer >= 1, got ${afterPages}`);
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const hold = { afterPages, released };
    this.hold = hold;
    return () => {
      if (this.hold === hold) this.hold = undefined;
      release();
    };
  }

  /** Resolves when a request with `param` may be answered (see holdAt). */
  async gate(param: string | null): Promise<void> {
    const session = param ? this.byParam.get(param) : undefined;
    const hold = this.hold;
    if (!hold || !session || session.closedAt !== null || session.pages !== hold.afterPages) return;
    this.heldRequests++;
    try {
      await hold.released;
    } finally {
      this.heldRequests--;
      session.lastActivityAt = this.deps.now(); // a held request keeps its scroll alive
    }
  }

  stats(): ScrollStats {
    this.expireIdle(); // so a scroll that has idled out shows its closedAt
    return {
      ...this.counters,
      heldRequests: this.heldRequests,
      sessions: this.sessions.map(({ openedAt, closedAt, pages, endedBy }) => ({ openedAt, closedAt, pages, endedBy })),
    };
  }

  private create(otherClient: boolean): Session {
    const now = this.deps.now();
    const session: Session = {
      param: randomUUID(),
      snapshot: this.deps.snapshot(),
      position: 0,
      openedAt: now,
      lastActivityAt: now,
      closedAt: null,
      pages: 0,
      endedBy: null,
      otherClient,
      failure: undefined,
    };
    this.sessions.push(session);
    this.byParam.set(session.param, session);
    this.open = session;
    return session;
  }

  private serve(session: Session, opening: boolean): ScrollOutcome {
    const now = this.deps.now();
    const { failure } = session;
    if (failure !== undefined && session.pages === failure.afterPages) {
      session.failure = undefined; // one-shot
      if (failure.kind === 'server_error') {
        this.close(session, 'server_error', now);
        return { kind: 'server_error' };
      }
      if (failure.kind === 'end_early') {
        this.close(session, 'empty', now);
        return { kind: 'page', scrollParam: session.param, data: [] };
      }
      this.close(session, 'expired', now);
      return { kind: 'not_found' };
    }
    session.lastActivityAt = now;
    const data = session.snapshot.slice(session.position, session.position + SCROLL_PAGE_SIZE);
    if (data.length === 0) {
      // An empty workspace still gets a 200 for the opening call: a 404 there would read as an error.
      if (this.deps.settings.endWith404 && !opening) {
        this.close(session, '404', now);
        return { kind: 'not_found' };
      }
      this.close(session, 'empty', now);
      return { kind: 'page', scrollParam: session.param, data };
    }
    session.position += data.length;
    session.pages++;
    this.counters.pagesServed++;
    return { kind: 'page', scrollParam: session.param, data };
  }

  private close(session: Session, endedBy: ScrollEnd, at: number): void {
    session.closedAt = at;
    session.endedBy = endedBy;
    if (this.open === session) this.open = undefined;
  }

  /** Intercom forgets a scroll unused for the idle time; it ended when it was last used + idle. */
  private expireIdle(): void {
    const session = this.open;
    if (session === undefined) return;
    const expiresAt = session.lastActivityAt + this.deps.settings.scrollIdleMs;
    if (this.deps.now() >= expiresAt) this.close(session, 'expired', expiresAt);
  }
}
