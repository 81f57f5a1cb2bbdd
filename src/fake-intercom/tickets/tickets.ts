import type { TicketSettings } from '../options.js';
import type { Route } from '../server/router.js';
import type { TicketJson } from './ticket-fixtures.js';
import { ticketRoutes } from './ticket-routes.js';
import { TicketStore } from './ticket-store.js';

export interface TicketsDeps {
  seed: number;
  workspaceId: string;
  settings: TicketSettings;
  now(): number;
}

/** The tickets endpoint family (brief §6) and its test controls; all times come from the fake's clock. */
export class Tickets {
  private readonly store: TicketStore;

  constructor(private readonly deps: TicketsDeps) {
    this.store = new TicketStore({ seed: deps.seed, workspaceId: deps.workspaceId, anchorS: this.nowS() }, deps.settings.count);
  }

  routes(): Route[] {
    return ticketRoutes({
      tickets: () => this.store.all(),
      ticket: (id) => this.store.get(id),
      workspaceId: this.deps.workspaceId,
      badCursorStatus: () => this.deps.settings.badCursorStatus,
    });
  }

  /** Copies in the 2.14 shape. */
  list(): TicketJson[] {
    return this.store.all().map((r) => structuredClone(r.json));
  }

  /** The live objects, read-only (no copy: the fake's report rows read their keys at start-up). */
  peek(): readonly TicketJson[] {
    return this.store.all().map((r) => r.json);
  }

  update(id: string, patch: Record<string, unknown> = {}): void {
    this.store.update(id, patch, this.nowS());
  }

  add(patch: Record<string, unknown> = {}): string {
    return this.store.add(patch, this.nowS());
  }

  setUpdatedAt(id: string, unixSeconds: number): void {
    this.store.setUpdatedAt(id, unixSeconds);
  }

  private nowS(): number {
    return Math.floor(this.deps.now() / 1000);
  }
}
