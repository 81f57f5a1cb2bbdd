/**
 * The one redaction mechanism. Secrets (the Intercom token) are registered once, when the context
 * or the HTTP client is built; every string that leaves the process passes through
 * `redactSecrets`: error descriptions (`describeError`, hence the ledger, sync runs and the CLI's
 * `error:` line), errors handed to BullMQ (`redactError`, hence `failedReason` and `stacktrace`),
 * and every log line (the logger's destination). A server that echoes the token in its reason
 * phrase or error body therefore cannot put it anywhere.
 */

const REPLACEMENT = '[redacted]';
/** Shorter strings would censor ordinary words; no real token is this short. */
const MIN_SECRET_LENGTH = 6;
const forms = new Set<string>();

/** Registers a secret: from now on it never appears in any string this module redacts. */
export function registerSecret(secret: string | undefined): void {
  const s = secret?.trim() ?? '';
  if (s.length < MIN_SECRET_LENGTH) return;
  // As written, as inside a JSON string (a log line), and URL-encoded (a query string).
  for (const form of [s, JSON.stringify(s).slice(1, -1), encodeURIComponent(s)]) forms.add(form);
}

/** `text` with every registered secret replaced by `[redacted]`. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const form of forms) if (out.includes(form)) out = out.split(form).join(REPLACEMENT);
  return out;
}

/**
 * The same error with the secrets taken out of its message and stack (what BullMQ stores as
 * `failedReason` and `stacktrace`). Anything not an Error becomes one.
 */
export function redactError(err: unknown): Error {
  if (!(err instanceof Error)) return new Error(redactSecrets(String(err)));
  const message = redactSecrets(err.message);
  if (message !== err.message) err.message = message;
  if (err.stack !== undefined) {
    const stack = redactSecrets(err.stack);
    if (stack !== err.stack) err.stack = stack;
  }
  return err;
}

/** Wraps a log destination so that no line reaches it carrying a secret. */
export function redactingDestination(dest: NodeJS.WritableStream): { write(line: string): boolean } {
  return { write: (line: string) => dest.write(redactSecrets(line)) };
}

/** A connection URL (DATABASE_URL, REDIS_URL) with its password masked, for messages and logs. */
export function withoutPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(an unparseable URL)';
  }
}
