import type { CompanySettings } from '../options.js';
import type { Route } from '../server/router.js';
import type { CompanyJson } from './company-fixtures.js';
import { CompanyStore } from './company-store.js';
import { companyListRoutes } from './list-routes.js';
import { scrollRoutes } from './scroll-route.js';
import { ScrollSessions, type ScrollFailureRule, type ScrollStats } from './scroll-sessions.js';

export interface CompaniesDeps {
  seed: number;
  workspaceId: string;
  settings: CompanySettings;
  now(): number;
}

const DAY_MS = 86_400_000;

/** The companies endpoint family (brief §5): the store, its scroll and the page-based lists. */
export class Companies {
  private readonly store: CompanyStore;
  private readonly scrolls: ScrollSessions;

  constructor(private readonly deps: CompaniesDeps) {
    // Times hang off the start of the UTC day the fake started: deterministic for a seed on a given
    // day, and never in the future of the fake's clock.
    const anchorS = Math.floor(deps.now() / DAY_MS) * (DAY_MS / 1000);
    this.store = new CompanyStore({ seed: deps.seed, workspaceId: deps.workspaceId, anchorS }, deps.settings.count);
    this.scrolls = new ScrollSessions({ now: deps.now, snapshot: () => this.store.snapshot(), settings: deps.settings });
  }

  routes(): Route[] {
    return [...scrollRoutes(this.scrolls), ...companyListRoutes(this.store)];
  }

  /** Copies, so a test cannot change the fake's state by editing what it got. */
  list(): CompanyJson[] {
    return structuredClone([...this.store.all()]);
  }

  /** The live objects, read-only (no copy: the fake's report rows read their keys at start-up). */
  peek(): readonly CompanyJson[] {
    return this.store.all();
  }

  setCount(count: number): void {
    this.store.setCount(count);
  }

  remove(id: string): void {
    this.store.remove(id);
  }

  update(id: string, patch: Record<string, unknown>): void {
    this.store.update(id, patch, Math.floor(this.deps.now() / 1000));
  }

  openScrollAsOtherClient(): void {
    this.scrolls.openAsOtherClient();
  }

  injectScrollFailure(rule: ScrollFailureRule): void {
    this.scrolls.injectFailure(rule);
  }

  holdScroll(afterPages: number): () => void {
    return this.scrolls.holdAt(afterPages);
  }

  scrollStats(): ScrollStats {
    return this.scrolls.stats();
  }
}
