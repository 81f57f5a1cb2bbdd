import { createHash } from 'node:crypto';

/**
 * Search cursors. Like Intercom's (observed: base64 of `[sort value ms, id, next page]`), plus a
 * fourth element tying the cursor to its query. The cursor marks a position in the
 * (`updated_at`, `id`) order, not an offset: paging never skips or repeats a ticket by itself, and
 * a ticket updated between pages simply moves (as in real life).
 */

export interface CursorPosition {
  /** `updated_at` of the last ticket served, in ms (the observed cursors carry ms). */
  sortMs: number;
  id: string;
  /** Number of the page this cursor asks for. */
  page: number;
}

/** Stable across key order, so an equivalent query re-sent by a client still matches its cursors. */
export function queryKey(query: unknown): string {
  return createHash('sha256').update(stableJson(query)).digest('base64url').slice(0, 12);
}

export function encodeCursor(position: CursorPosition, key: string): string {
  return Buffer.from(JSON.stringify([position.sortMs, position.id, position.page, key])).toString('base64');
}

/** The position, or undefined for a malformed cursor or one made for another query. */
export function decodeCursor(cursor: string, key: string): CursorPosition | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) return undefined;
  const [sortMs, id, page, cursorKey] = parsed as unknown[];
  if (typeof sortMs !== 'number' || !Number.isFinite(sortMs) || typeof id !== 'string') return undefined;
  if (typeof page !== 'number' || !Number.isInteger(page) || page < 2 || cursorKey !== key) return undefined;
  return { sortMs, id, page };
}

/** Ticket ids are numeric strings: a shorter one is smaller (so '999' < '1000'). */
export function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
