import { generateCompany, type CompanyFixtureContext, type CompanyJson } from './company-fixtures.js';

/**
 * The workspace's current companies, in creation order. Objects are never mutated in place: an
 * update swaps in a new object, so a scroll's snapshot (a copy of the array) keeps serving the
 * companies exactly as they were when the scroll opened.
 */
export class CompanyStore {
  private companies: CompanyJson[] = [];

  constructor(
    private readonly ctx: CompanyFixtureContext,
    count: number,
  ) {
    this.setCount(count);
  }

  /** Regenerate n companies; earlier removals and updates are dropped (company k is always the same). */
  setCount(count: number): void {
    if (!Number.isInteger(count) || count < 0) throw new Error(`company count must be an integer >= 0, got ${count}`);
    this.companies = Array.from({ length: count }, (_, index) => generateCompany(this.ctx, index));
  }

  all(): readonly CompanyJson[] {
    return this.companies;
  }

  /** A frozen view of the list for a scroll: later updates and removals do not shift its pages. */
  snapshot(): readonly CompanyJson[] {
    return [...this.companies];
  }

  find(id: string): CompanyJson | undefined {
    return this.companies.find((c) => c.id === id);
  }

  remove(id: string): void {
    this.companies.splice(this.indexOf(id), 1);
  }

  /** Shallow patch (nested objects are replaced whole); `updated_at` becomes `nowS` unless patched. */
  update(id: string, patch: Record<string, unknown>, nowS: number): void {
    const index = this.indexOf(id);
    const updated: CompanyJson = { ...structuredClone(this.companies[index]!), updated_at: nowS, ...structuredClone(patch) };
    for (const [key, value] of Object.entries(updated)) if (value === undefined) delete updated[key];
    updated.id = id; // the Intercom id is the key; a patch cannot move a company
    this.companies[index] = updated;
  }

  private indexOf(id: string): number {
    const index = this.companies.findIndex((c) => c.id === id);
    if (index < 0) throw new Error(`no company with id '${id}'`);
    return index;
  }
}
