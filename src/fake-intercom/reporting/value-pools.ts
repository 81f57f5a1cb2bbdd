/**
 * Realistic value pools for generated reporting rows. Several entries deliberately contain what a
 * CSV parser must cope with: commas, double quotes, CR/LF inside a field, emoji and non-Latin text.
 * Labels are the English (workspace-language) forms Intercom exports.
 */

export interface NamedId {
  name: string;
  id: number;
}

export const TEAMS: readonly NamedId[] = [
  { name: 'Support - Chat', id: 5_523_441 },
  { name: 'Support - Email', id: 5_523_442 },
  { name: 'Billing & Payments', id: 5_523_450 },
  { name: 'Tier 2, Escalations', id: 5_523_463 },
  { name: 'Équipe France 🇫🇷', id: 5_523_471 },
  { name: 'VIP "Gold" Customers', id: 5_523_488 },
];

/** Intercom exports this label (and an empty raw id) for conversations without a team. */
export const UNASSIGNED = 'Unassigned';

export const TEAMMATES: readonly NamedId[] = [
  { name: 'Ciaran Lee', id: 991_267_460 },
  { name: 'Zoë Müller', id: 991_267_461 },
  { name: 'Søren Ødegaard', id: 991_267_475 },
  { name: '山田 太郎', id: 991_267_480 },
  { name: 'Ana "Nina" Souza', id: 991_267_493 },
  { name: "O'Brien, Pat", id: 991_267_502 },
  { name: 'Priya Raman', id: 991_267_517 },
];

/** Tag names never contain a comma: multi-valued fields are comma-separated, so a comma would split. */
export const TAGS: readonly string[] = [
  'billing',
  'refund',
  'bug',
  'vip 💎',
  'feature request',
  'churn-risk',
  'needs "review"',
  'onboarding',
];

export const REMARKS: readonly string[] = [
  'Great help, thanks!',
  'Quick and friendly 😊',
  'He said "try again later"',
  'Solved on first try',
  'Line one\nLine two',
  'Merci beaucoup ! 🙏',
  '非常に助かりました',
  'Not resolved; escalated\r\nto engineering',
  'Too slow',
];

export const TICKET_TITLES: readonly string[] = [
  'Cannot log in',
  'Export to "CSV" fails',
  'Invoice #123, wrong VAT',
  'Ünïcödé in names 🐛',
  'Webhook retries',
  'SSO: SAML assertion rejected',
];

export const TICKET_DESCRIPTIONS: readonly string[] = [
  'Steps:\n1. Open settings\n2. Click "Save"\nExpected: saved, actual: error',
  'Customer reports the issue since Monday, affects ~30 users',
  'Reproduced in Chrome 124 🚨',
  'See attached screenshot',
];

export const AWAY_REASONS: readonly string[] = [
  '☕ Coffee break',
  '🍔 Lunch',
  '📅 In a meeting, back soon',
  '🏠 Done for the day',
  '🤒 Out sick',
];

export const PEOPLE: readonly string[] = [
  'María José García',
  'Li Wei',
  'Jean-Luc Picard',
  'Ngozi Okafor',
  'Ólafur Arnalds',
  'Smith, John',
  'Zoë Kravitz',
];

export const COMPANIES: readonly string[] = ['Acme Corp', 'Globex, Inc.', 'Initech', 'Umbrella "Health"', 'Hooli', 'Société Générale'];

export const COUNTRY_CODES: readonly string[] = ['US', 'GB', 'FR', 'DE', 'BR', 'JP', 'IN'];

export const LANGUAGES: readonly string[] = ['en', 'en', 'en', 'fr', 'de', 'pt-BR', 'ja', 'es'];

/** Lower-case ASCII local part for an email address derived from a person's name. */
export function emailFor(person: string, index: number): string {
  const local = person
    .normalize('NFKD')
    .replace(/[^A-Za-z ]/g, '')
    .trim()
    .toLowerCase()
    .replace(/\s+/g, '.');
  return `${local || 'user'}${index}@example.com`;
}
