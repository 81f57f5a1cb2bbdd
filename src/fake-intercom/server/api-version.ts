/**
 * `Intercom-Version` handling. The enum is the 2.14 description's (1.0 … 2.14) plus the numbers later
 * descriptions add, `Preview` (current name) and `Unstable` (its former name, still sent by scripts).
 */

const NUMBERED_VERSIONS = [
  '1.0',
  '1.1',
  '1.2',
  '1.3',
  '1.4',
  '2.0',
  '2.1',
  '2.2',
  '2.3',
  '2.4',
  '2.5',
  '2.6',
  '2.7',
  '2.8',
  '2.9',
  '2.10',
  '2.11',
  '2.12',
  '2.13',
  '2.14',
  '2.15',
  '2.16',
  '2.17',
] as const;

/** Versions the fake accepts, as Intercom spells them. */
export const SUPPORTED_VERSIONS: readonly string[] = [...NUMBERED_VERSIONS, 'Preview', 'Unstable'];

export type VersionCheck = { ok: true; version: string } | { ok: false; message: string };

/** Resolve the header to a canonical version; `Preview`/`Unstable` are matched case-insensitively. */
export function resolveApiVersion(header: string | string[] | undefined, defaultVersion: string): VersionCheck {
  const raw = Array.isArray(header) ? header[0] : header;
  if (raw === undefined || raw.trim() === '') return { ok: true, version: defaultVersion };
  const value = raw.trim();
  const canonical = SUPPORTED_VERSIONS.find((v) => v === value || v.toLowerCase() === value.toLowerCase());
  if (canonical === undefined) {
    return { ok: false, message: `Intercom-Version header value '${value}' is not a supported API version` };
  }
  return { ok: true, version: canonical };
}

/** True for Preview/Unstable and numbered versions >= major.minor. */
export function versionAtLeast(version: string, major: number, minor: number): boolean {
  if (version === 'Preview' || version === 'Unstable') return true;
  const match = /^(\d+)\.(\d+)$/.exec(version);
  if (!match) return false;
  const [vMajor, vMinor] = [Number(match[1]), Number(match[2])];
  return vMajor > major || (vMajor === major && vMinor >= minor);
}

/** `qualified_id` appears in get_datasets from 2.16 (and Preview) [2.16 L3896]. */
export function showsQualifiedIds(version: string): boolean {
  return versionAtLeast(version, 2, 16);
}

/** From 2.16 the conversation dataset includes conversations without a user reply [2.16 L3656]. */
export function includesConversationsWithoutUserReply(version: string): boolean {
  return versionAtLeast(version, 2, 16);
}
