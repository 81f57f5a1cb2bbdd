import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Rules of the code base that reading the imports can check. */
const SRC = join(import.meta.dirname, '../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const IMPORT = /^(import|export)\s(type\s)?[^;]*?from\s+'([^']+)'/gms;

/** Static imports that load code (`import … from '…'`, `export … from '…'`; not `import type`, not `import('…')`). */
function staticImports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(IMPORT)].filter((m) => m[2] === undefined).map((m) => m[3]!);
}

/** Every `from '…'`, type-only imports included. */
function allImports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((m) => m[3]!);
}

/** The top-level directory of src an import points to (`jobs`, `pipeline`, …); null for packages and src's own files. */
function targetLayer(file: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const parts = relative(SRC, resolve(dirname(file), specifier)).split('/');
  return parts.length > 1 ? parts[0]! : null;
}

const layerOf = (file: string): string => relative(SRC, file).split('/')[0]!;

/** README, Layout: cli → schedules → jobs → pipeline → sinks → intercom, db; a layer imports only lower ones. */
const RANK: Record<string, number> = { cli: 6, schedules: 5, jobs: 4, pipeline: 3, sinks: 2, intercom: 1, db: 1 };

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

  it('keeps BullMQ and the job layer out of the pipeline (it says what should happen; src/jobs does it)', () => {
    const offenders = sourceFiles(join(SRC, 'pipeline')).flatMap((f) =>
      allImports(f)
        .filter((i) => i === 'bullmq' || i.startsWith('bullmq/') || targetLayer(f, i) === 'jobs')
        .map((i) => `${relative(SRC, f)} imports ${i}`),
    );
    expect(offenders).toEqual([]);
  });

  it('lets no layer load a higher one, and only the CLI load the HTTP server', () => {
    const offenders = sourceFiles(SRC)
      .filter((f) => RANK[layerOf(f)] !== undefined || layerOf(f) === 'server')
      .flatMap((f) =>
        staticImports(f)
          .filter((i) => {
            const to = targetLayer(f, i);
            if (to === null || to === layerOf(f)) return false;
            if (to === 'server') return layerOf(f) !== 'cli';
            return RANK[to] !== undefined && RANK[layerOf(f)] !== undefined && RANK[to]! > RANK[layerOf(f)]!;
          })
          .map((i) => `${relative(SRC, f)} imports ${i}`),
      );
    expect(offenders).toEqual([]);
  });

  it('notices a violation (the checks above can fail)', () => {
    const fake = join(SRC, 'pipeline/x.ts');
    expect(targetLayer(fake, '../jobs/workers.js')).toBe('jobs');
    expect(targetLayer(fake, './run-sync.js')).toBe('pipeline');
    expect(targetLayer(fake, '../log.js')).toBeNull();
    expect([..."import { Queue } from 'bullmq';\nimport type { Job } from '../jobs/x.js';".matchAll(IMPORT)].map((m) => m[3])).toEqual([
      'bullmq',
      '../jobs/x.js',
    ]);
  });
});
