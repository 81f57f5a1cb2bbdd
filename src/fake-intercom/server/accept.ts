/**
 * `Accept` negotiation. Intercom answers 406 for an unsupported Accept; JSON endpoints want
 * `application/json` and the reporting download requires `application/octet-stream` [2.14 L1768].
 */

export type ResponseKind = 'json' | 'octet-stream';

function mediaRanges(header: string | string[] | undefined): string[] {
  const raw = Array.isArray(header) ? header.join(',') : header;
  if (raw === undefined) return [];
  return raw
    .split(',')
    .map((part) => (part.split(';')[0] ?? '').trim().toLowerCase())
    .filter((range) => range !== '');
}

/** Whether a request with this Accept header may be answered with `kind`. */
export function accepts(header: string | string[] | undefined, kind: ResponseKind): boolean {
  const ranges = mediaRanges(header);
  if (kind === 'json') {
    // An absent header means "anything"; browsers/axios send lists that include */*.
    if (ranges.length === 0) return true;
    return ranges.some((r) => r === 'application/json' || r === 'application/*' || r === '*/*');
  }
  // The download is documented as requiring exactly this media type; */* is deliberately refused so
  // that a client that forgets the header fails here as it would against Intercom.
  return ranges.includes('application/octet-stream');
}

export function notAcceptableMessage(kind: ResponseKind): string {
  return kind === 'json' ? 'The Accept header must allow application/json' : 'The Accept header must be application/octet-stream';
}
