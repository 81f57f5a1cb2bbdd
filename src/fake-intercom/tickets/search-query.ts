import { ALL_OPERATORS, CATEGORY_ALIASES, OPERATORS_BY_KIND, resolveField, type FieldKind, type SearchField } from './search-fields.js';
import type { TicketJson } from './ticket-fixtures.js';

/**
 * The search filter grammar [2.14 L14032-14084, L21568-21612]: a single `{field, operator, value}`
 * or a group `{operator: AND|OR, value: [filters]}`; groups nest at most 2 levels deep and hold at
 * most 15 filters each. A query is validated completely up front and compiled to a predicate, so an
 * invalid query is a 400 even when no ticket would reach the broken branch.
 */

export const MAX_NESTING = 2;
export const MAX_FILTERS_PER_GROUP = 15;

export class QueryError extends Error {}

export type TicketPredicate = (ticket: TicketJson) => boolean;

export function compileQuery(raw: unknown): TicketPredicate {
  if (raw === undefined || raw === null) throw new QueryError("'query' is required");
  return compile(raw, 0);
}

function compile(node: unknown, depth: number): TicketPredicate {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) throw new QueryError('Each filter must be a JSON object');
  const filter = node as Record<string, unknown>;
  if ('field' in filter) return compileSingle(filter);
  const { operator, value } = filter;
  if (operator !== 'AND' && operator !== 'OR') {
    throw new QueryError(
      `A filter needs a 'field', or an 'operator' of AND or OR with a list of filters; got operator ${JSON.stringify(operator)}`,
    );
  }
  if (depth + 1 > MAX_NESTING) throw new QueryError(`Filters can be nested at most ${MAX_NESTING} levels deep`);
  if (!Array.isArray(value) || value.length === 0)
    throw new QueryError(`An ${operator} group needs a non-empty array of filters in 'value'`);
  if (value.length > MAX_FILTERS_PER_GROUP) {
    throw new QueryError(`An ${operator} group can contain at most ${MAX_FILTERS_PER_GROUP} filters, got ${value.length}`);
  }
  const children = value.map((child) => compile(child, depth + 1));
  return operator === 'AND' ? (t) => children.every((c) => c(t)) : (t) => children.some((c) => c(t));
}

function compileSingle(filter: Record<string, unknown>): TicketPredicate {
  const { field: name, operator, value } = filter;
  if (typeof name !== 'string') throw new QueryError("'field' must be a string");
  if (typeof operator !== 'string' || !ALL_OPERATORS.includes(operator)) {
    throw new QueryError(`Unsupported operator ${JSON.stringify(operator)} for field '${name}' (use one of ${ALL_OPERATORS.join(' ')})`);
  }
  const field = resolveField(name);
  if (field === undefined) throw new QueryError(`Unsupported field '${name}'`);
  if (!OPERATORS_BY_KIND[field.kind].includes(operator)) {
    throw new QueryError(
      `Operator '${operator}' cannot be used with field '${name}' (${field.kind}); use one of ${OPERATORS_BY_KIND[field.kind].join(' ')}`,
    );
  }
  if (operator === 'IN' || operator === 'NIN') {
    if (!Array.isArray(value)) throw new QueryError(`Operator '${operator}' needs an array value for field '${name}'`);
    const targets = value.map((v) => normaliseTarget(field, v));
    const inList = (t: TicketJson) => stored(field, t).some((v) => targets.includes(v));
    return operator === 'IN' ? inList : (t) => !inList(t);
  }
  if (Array.isArray(value)) throw new QueryError(`Operator '${operator}' needs a single value for field '${name}', not an array`);
  if (value === null) {
    if (operator !== '=' && operator !== '!=') throw new QueryError(`Operator '${operator}' needs a value for field '${name}'`);
    // `= null` finds tickets without the field (e.g. never snoozed); `!= null` those with it.
    return operator === '=' ? (t) => stored(field, t).length === 0 : (t) => stored(field, t).length > 0;
  }
  const target = normaliseTarget(field, value);
  return compare(field, operator, target);
}

function compare(field: SearchField, operator: string, target: string | number | boolean): TicketPredicate {
  const any = (test: (v: string | number | boolean) => boolean) => (t: TicketJson) => stored(field, t).some(test);
  const text = (v: unknown) => String(v).toLowerCase();
  const needle = text(target);
  switch (operator) {
    case '=':
      return any((v) => v === target);
    case '!=':
      return (t) => !stored(field, t).some((v) => v === target);
    // Only date and number fields accept these (checked above), so both sides are numbers.
    case '>':
      return any((v) => (v as number) > (target as number));
    case '<':
      return any((v) => (v as number) < (target as number));
    case '>=':
      return any((v) => (v as number) >= (target as number));
    case '<=':
      return any((v) => (v as number) <= (target as number));
    // ASSUMPTION: the string operators ignore case; `=` does not.
    case '~':
      return any((v) => text(v).includes(needle));
    case '!~':
      return (t) => !stored(field, t).some((v) => text(v).includes(needle));
    case '^':
      return any((v) => text(v).startsWith(needle));
    default: // '$'
      return any((v) => text(v).endsWith(needle));
  }
}

/** The query value in the field's type; a value of the wrong type fails the query (as Intercom's does). */
function normaliseTarget(field: SearchField, value: unknown): string | number | boolean {
  const wrong = (expected: string) => new QueryError(`Value for field '${field.name}' must be ${expected}, got ${JSON.stringify(value)}`);
  switch (field.kind) {
    case 'string':
      if (typeof value === 'string' || typeof value === 'number') return String(value);
      throw wrong('a string');
    case 'date':
    case 'number': {
      // The documented example sends a timestamp as a string ('1306054154'), so numeric strings pass.
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
      if (!Number.isFinite(n) || (field.kind === 'date' && !Number.isInteger(n)))
        throw wrong(field.kind === 'date' ? 'a Unix timestamp' : 'a number');
      return n;
    }
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') return value === 'true';
      throw wrong('a boolean');
    case 'category': {
      const category = typeof value === 'string' ? CATEGORY_ALIASES[value.toLowerCase()] : undefined;
      if (category === undefined) throw wrong('one of request, task, tracker');
      return category;
    }
  }
}

/** The ticket's values for the field in the same representation as normaliseTarget's. */
function stored(field: SearchField, ticket: TicketJson): Array<string | number | boolean> {
  return field.values(ticket).map((v) => toKind(field.kind, v));
}

function toKind(kind: FieldKind, value: unknown): string | number | boolean {
  if (kind === 'date' || kind === 'number') return typeof value === 'number' ? value : Number(value);
  if (kind === 'boolean') return value === true || value === 'true';
  return String(value);
}
