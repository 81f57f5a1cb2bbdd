import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Rules of the code base that reading the imports can check. */
const SRC = join(import.meta.dirname, '../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Static imports that load code (`import … from '…'`, `export … from '…'`; not `import type`, not `import('…')`). */
function staticImports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/^(import|export)\s(type\s)?[^;]*?from\s+'([^']+)'/gms)]
    .filter((m) => m[2] === undefined)
    .map((m) => m[3]!);
}

describe('layers', () => {
  it('loads the fake Intercom only in the commands that need it (demo, fake-intercom)', () => {
    const offenders = sourceFiles(SRC)
      .filter((f) => !relative(SRC, f).startsWith('fake-intercom/'))
      .flatMap((f) =>
        staticImports(f)
          .filter((i) => i.includes('fake-intercom/') || i.endsWith('/demo-command.js'))
          .map((i) => `${relative(SRC, f)} imports ${i}`),
      )
      .filter((line) => !line.startsWith('cli/demo-command.ts'));
    expect(offenders).toEqual([]);
  });
});
