import { hashString, intBetween, mix, pick, unit } from '../reporting/hashing.js';

/**
 * Deterministic company objects in the 2.14 shape (brief §5.3). Company n is a pure function of
 * (seed, n, anchor), never the n-th draw of a stream, so the first k companies are the same whatever
 * the total count. Unset optional fields are left out, as in Intercom's own examples.
 */

export type CompanyJson = Record<string, unknown>;

export interface CompanyFixtureContext {
  seed: number;
  /** Workspace code, sent as `app_id`. */
  workspaceId: string;
  /** Unix seconds every generated time is at or before (start of the UTC day the fake started). */
  anchorS: number;
}

const DAY_S = 86_400;

// Names must survive CSV and SQL round trips: commas, quotes, emoji and non-Latin letters on purpose.
const NAME_BASES = [
  'Acme',
  'Globex',
  'Initech',
  'Umbrella',
  'Hooli',
  'Société Générale',
  'Müller & Söhne',
  'Stark Industries',
  'Tyrell',
  'Vandelay',
  'Pied Piper',
  '東京商事',
] as const;
const NAME_SUFFIXES = ['', ', Inc.', ' "Labs"', ' 🚀', ' Ltd.', ' & Co.', ', GmbH', " O'Brien"] as const;
const INDUSTRIES = ['Software', 'Manufacturing', 'Retail, E-commerce', 'Healthcare', 'Finance', 'Education 🎓'] as const;
const PLANS = [
  { type: 'plan', id: '269315', name: 'Pro' },
  { type: 'plan', id: '269316', name: 'Enterprise' },
  { type: 'plan', id: '269317', name: 'Starter "Lite"' },
] as const;
const TIERS = ['gold', 'silver', 'bronze', 'Enterprise, EMEA', '"Founding" customer', '🌟 VIP'] as const;
const MANAGERS = ['María José García', 'Li Wei', 'Smith, John', 'Zoë Kravitz'] as const;

/** Tags and segments are shared workspace objects, so their ids repeat across companies. */
export const COMPANY_TAGS = [
  { type: 'tag', id: '7522907', name: 'enterprise' },
  { type: 'tag', id: '7522908', name: 'churn-risk' },
  { type: 'tag', id: '7522909', name: 'vip 💎' },
  { type: 'tag', id: '7522910', name: 'needs "review"' },
  { type: 'tag', id: '7522911', name: 'beta, early access' },
] as const;
export const COMPANY_SEGMENTS = [
  { id: '56203d253cba154d39010062', name: 'Active' },
  { id: '56203d253cba154d39010063', name: 'New (30 days)' },
  { id: '56203d253cba154d39010064', name: 'Slipping away 😬' },
] as const;
const SEGMENT_CREATED_AT = 1_609_459_200; // 2021-01-01, fixed like /me's workspace creation time

const hex = (value: number, digits: number) => (value >>> 0).toString(16).padStart(8, '0').slice(-digits);

/** One hash per (seed, company, field): adding a field never changes another field's value. */
function fieldHash(ctx: CompanyFixtureContext, index: number) {
  const base = mix(mix(hashString('company'), ctx.seed), index);
  return (field: string) => mix(base, hashString(field));
}

export function generateCompany(ctx: CompanyFixtureContext, index: number): CompanyJson {
  const h = fieldHash(ctx, index);
  const createdAt = ctx.anchorS - intBetween(h('created_at'), 30 * DAY_S, 1500 * DAY_S);
  const userCount = unit(h('no_users')) < 0.12 ? 0 : intBetween(h('user_count'), 1, 500);
  const company: CompanyJson = {
    type: 'company',
    // ObjectId-like: 4-byte creation time, 5 pseudo-random bytes, 3-byte counter (unique per index).
    id: `${hex(createdAt, 8)}${hex(h('id'), 8)}${hex(h('id2'), 2)}${index.toString(16).padStart(6, '0')}`,
    name: `${pick(h('name'), NAME_BASES)} ${index + 1}${pick(h('suffix'), NAME_SUFFIXES)}`,
    app_id: ctx.workspaceId,
    plan: unit(h('plan?')) < 0.25 ? {} : { ...pick(h('plan'), PLANS) },
    company_id: `C-${String(index + 1).padStart(6, '0')}`,
    created_at: createdAt,
    updated_at: createdAt + intBetween(h('updated_at'), 0, ctx.anchorS - createdAt),
    monthly_spend: unit(h('spend?')) < 0.3 ? 0 : intBetween(h('spend'), 1, 5000),
    session_count: userCount === 0 ? 0 : intBetween(h('sessions'), 0, 10_000),
    user_count: userCount,
    custom_attributes: customAttributes(h),
    tags: { type: 'tag.list', tags: tags(h) },
    segments: { type: 'segment.list', segments: segments(h) },
  };
  if (unit(h('remote?')) < 0.7) company.remote_created_at = createdAt - intBetween(h('remote'), 0, 365 * DAY_S);
  // A company without users has never "made a request"; some with users have not either.
  if (userCount > 0 && unit(h('lra?')) >= 0.1) company.last_request_at = intBetween(h('lra'), createdAt, ctx.anchorS);
  if (unit(h('size?')) < 0.75) company.size = intBetween(h('size'), 1, 5000);
  if (unit(h('web?')) < 0.8) company.website = `https://company-${index + 1}.example.com`;
  if (unit(h('industry?')) < 0.8) company.industry = pick(h('industry'), INDUSTRIES);
  return company;
}

/** Mixed value types on purpose (string, integer, decimal, boolean, null), as real workspaces have. */
function customAttributes(h: (field: string) => number): Record<string, unknown> {
  if (unit(h('ca?')) < 0.1) return {};
  return {
    tier: pick(h('tier'), TIERS),
    seats: intBetween(h('seats'), 1, 400),
    arr: Math.round(unit(h('arr')) * 1_000_000) / 100,
    paid_subscriber: unit(h('paid')) < 0.6,
    churn_score: unit(h('churn?')) < 0.3 ? null : Math.round(unit(h('churn')) * 1000) / 1000,
    account_manager: unit(h('am?')) < 0.2 ? null : pick(h('am'), MANAGERS),
  };
}

function tags(h: (field: string) => number): Array<Record<string, string>> {
  return COMPANY_TAGS.filter((tag) => unit(h(`tag:${tag.id}`)) < 0.25).map((tag) => ({ ...tag }));
}

function segments(h: (field: string) => number): Array<Record<string, unknown>> {
  return COMPANY_SEGMENTS.filter((segment) => unit(h(`segment:${segment.id}`)) < 0.3).map((segment) => ({
    type: 'segment',
    id: segment.id,
    name: segment.name,
    created_at: SEGMENT_CREATED_AT,
    updated_at: SEGMENT_CREATED_AT,
    person_type: 'user',
  }));
}
