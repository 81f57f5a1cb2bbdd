/**
 * Log lines as a machine reads them. `JSON.parse` keeps the last of two equal keys without a word;
 * `duplicateKeys` walks the text itself and names every key an object has twice (pino writes a
 * key twice when a child logger binds it and a line passes it again).
 */

export interface LogLine {
  level: number;
  time: string;
  msg: string;
  runId?: string;
  [key: string]: unknown;
}

/** Every non-empty line of `text` parsed; throws naming the first line that is not JSON. */
export function parseLogLines(text: string): LogLine[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as LogLine;
      } catch {
        throw new Error(`not a JSON log line: ${l.slice(0, 300)}`);
      }
    });
}

/** The keys that appear twice in one object of the JSON text `line` (`a.b` for nested objects). */
export function duplicateKeys(line: string): string[] {
  const found: string[] = [];
  // One frame per open object or array: the keys seen, and whether the next string is a key.
  const stack: Array<{ keys: Set<string> | null; path: string; expectKey: boolean; lastKey: string }> = [];
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    const top = stack[stack.length - 1];
    if (c === '"') {
      let j = i + 1;
      while (line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
      const text = JSON.parse(line.slice(i, j + 1)) as string;
      if (top?.keys && top.expectKey) {
        if (top.keys.has(text)) found.push(top.path + text);
        top.keys.add(text);
        top.lastKey = text;
        top.expectKey = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      const path = top?.keys ? `${top.path}${top.lastKey}.` : (top?.path ?? '');
      stack.push({ keys: c === '{' ? new Set() : null, path, expectKey: c === '{', lastKey: '' });
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',' && top?.keys) {
      top.expectKey = true;
    }
  }
  return found;
}
