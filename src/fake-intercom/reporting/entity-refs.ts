import { SECONDS_PER_DAY } from './time-format.js';

/**
 * What report rows know of the fake's companies and tickets, so that their keys match the entity
 * endpoints as Intercom's would (issue 9 §2). Taken once, when the fake starts: later control-API
 * changes to companies or tickets (removals, new tickets) are not reflected in report rows, as a
 * report row may also refer to a company deleted since.
 */
export interface TicketRef {
  /** The ticket's `id` (what `GET /tickets/{id}` and the `tickets` table use), not its inbox `ticket_id`. */
  id: string;
  typeName: string;
  stateLabel: string;
  /** Category as the report writes it: `Submitted`, `In progress`, `Waiting on customer`, `Resolved`. */
  categoryLabel: string;
  title: string | null;
}

export interface EntityRefs {
  /** `company_id` (the workspace's own id, `C-000001`) and name of each fake company, by index. */
  companies: ReadonlyArray<{ companyId: string; name: string }>;
  /**
   * The tickets laid out in the `tickets` dataset: ticket k is row `k % rowsPerDay` of the day
   * `1 + floor(k / rowsPerDay)` days before the fake's start day, so a recent backfill sees them all.
   */
  ticketAt(day: number, index: number, rowsPerDay: number): TicketRef | undefined;
}

export const NO_ENTITY_REFS: EntityRefs = { companies: [], ticketAt: () => undefined };

type Json = Record<string, unknown>;
const text = (v: unknown): string | null => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null);

export function categoryLabel(category: string): string {
  const spaced = category.replace(/_/g, ' ');
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

export function entityRefs(companies: readonly Json[], tickets: readonly Json[], startMs: number): EntityRefs {
  const startDay = Math.floor(startMs / 1000 / SECONDS_PER_DAY);
  const refs: TicketRef[] = tickets.map((t) => {
    const state = (t.ticket_state ?? {}) as Json;
    const type = (t.ticket_type ?? {}) as Json;
    const attributes = (t.ticket_attributes ?? {}) as Json;
    return {
      id: String(t.id),
      typeName: text(type.name) ?? '',
      stateLabel: text(state.internal_label) ?? '',
      categoryLabel: categoryLabel(text(state.category) ?? ''),
      title: text(attributes._default_title_),
    };
  });
  return {
    companies: companies.map((c) => ({ companyId: String(c.company_id), name: String(c.name) })),
    ticketAt(day, index, rowsPerDay) {
      const daysBefore = startDay - 1 - day;
      if (daysBefore < 0 || index >= rowsPerDay) return undefined;
      return refs[daysBefore * rowsPerDay + index];
    },
  };
}
