import { mulberry32 } from '../src/fake-intercom/reporting/hashing.js';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli, waitFor, type CliProcess } from './helpers/cli-process.js';
import { createTestEnv, TEST_DATABASE_URL, type TestEnv } from './helpers/test-env.js';

/**
 * Chaos: real `backfill`, `worker` and `sync companies` processes are SIGKILLed at chosen moments —
 * while an export is being enqueued, while its status is polled, in the middle of a COPY, in the
 * middle of the companies merge — and restarted; after a clean run the tables must equal the
 * fake's truth exactly. The moments come from a seed (printed; replay one with CHAOS_SEED=<n>).
 *
 * Moments are hit by observing, not by sleeping: the CLI reaches the fake through a small proxy
 * in this file, which kills the process when the enqueue or status response it waits for arrives,
 * or after passing on part of a download once Postgres shows that window's COPY running. The merge
 * is caught by holding a row lock that the merge needs and killing the process once
 * pg_stat_activity shows the merge blocked on it.
 */

const SEED = process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : Math.floor(Math.random() * 2 ** 31);
const DAY = 86_400_000;
const D0 = Math.floor(Date.now() / DAY) * DAY - 20 * DAY;
const DAYS = 5;
const DATASETS = ['conversation', 'admin_status_change'];
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const BACKFILL = ['backfill', '--from', iso(D0), '--to', iso(D0 + (DAYS - 1) * DAY), ...DATASETS.flatMap((d) => ['--dataset', d])];
/** Report kills per data revision (two revisions), plus two in the companies merge. */
const REPORT_KILLS_PER_STAGE = 5;

type Phase = 'enqueue' | 'poll' | 'copy' | 'companies-merge';
type Kind = 'backfill' | 'worker' | 'sync companies';
interface Kill {
  kind: Kind;
  phase: Phase;
  /** The moment was observed as intended (Intercom job not yet in the ledger, COPY running, merge blocked). */
  confirmed: boolean;
  detail: string;
}

const random = mulberry32(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

// ---- the proxy between the CLI and the fake ----

type Exchange = 'enqueue' | 'status' | 'download' | 'other';
interface Upstream {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}
/** An armed trap: on the `countdown`-th successful matching exchange, `fire` answers (or not) instead of the proxy. */
interface Trap {
  exchange: Exchange;
  countdown: number;
  fire(up: Upstream, res: ServerResponse, path: string): Promise<void>;
}

function classify(method: string, path: string): Exchange {
  if (method === 'POST' && path === '/export/reporting_data/enqueue') return 'enqueue';
  if (method === 'GET' && /^\/export\/reporting_data\/(?!get_datasets)[^/]+$/.test(path)) return 'status';
  if (path.startsWith('/download/reporting_data/')) return 'download';
  return 'other';
}

class ChaosProxy {
  target = '';
  trap: Trap | null = null;
  private constructor(private readonly server: Server) {}

  static async start(): Promise<ChaosProxy> {
    let proxy!: ChaosProxy;
    const server = createServer((req, res) => void proxy.handle(req, res));
    proxy = new ChaosProxy(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: import('node:http').IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const up = await this.forward(req.method!, req.url!, req.headers, Buffer.concat(chunks));
      const path = new URL(req.url!, 'http://x').pathname;
      const trap = this.trap;
      if (trap && up.status === 200 && trap.exchange === classify(req.method!, path) && --trap.countdown <= 0) {
        this.trap = null;
        await trap.fire(up, res, path);
        return;
      }
      res.writeHead(up.status, passHeaders(up.headers));
      res.end(up.body);
    } catch {
      res.destroy();
    }
  }

  private forward(method: string, url: string, headers: IncomingHttpHeaders, body: Buffer): Promise<Upstream> {
    return new Promise((resolve, reject) => {
      const up = httpRequest(`${this.target}${url}`, { method, headers: { ...headers, host: new URL(this.target).host } }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => resolve({ status: r.statusCode!, headers: r.headers, body: Buffer.concat(chunks) }));
        r.on('error', reject);
      });
      up.on('error', reject);
      up.end(body);
    });
  }
}

function passHeaders(h: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || ['content-length', 'transfer-encoding', 'connection', 'keep-alive'].includes(k)) continue;
    out[k] = v;
  }
  return out;
}

// ---- the run ----

let env: TestEnv;
let proxy: ChaosProxy;
let admin: pg.Pool;
const kills: Kill[] = [];
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
const orphanExports: string[] = [];
const live = new Set<CliProcess>();
let failed = false;

beforeAll(async () => {
  process.stdout.write(`chaos test: seed ${SEED} (replay with CHAOS_SEED=${SEED})\n`);
  proxy = await ChaosProxy.start();
  env = await createTestEnv('chaos', {
    fake: {
      publicUrl: proxy.url,
      export: { latencyMs: 600, rowsPerDay: 1000 },
      companies: { count: 350, scrollIdleMs: 2000 },
    },
  });
  proxy.target = env.fake.url;
  admin = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 3 });
});

afterAll(async () => {
  for (const p of live) p.child.kill('SIGKILL');
  await Promise.all([...live].map((p) => p.exited));
  await proxy?.close();
  await admin?.end();
  await env?.cleanup(failed);
});

function childEnv(): Record<string, string> {
  return {
    ...env.childEnv,
    INTERCOM_BASE_URL: proxy.url,
    ETL_SCHEDULE_ENABLED: 'false',
    // A killed process's jobs (and its companies lock) come back after about this long.
    ETL_LOCK_DURATION_MS: '3000',
    // A window whose job died with its process (stalled past BullMQ's limit) is healed by the
    // reconciler: quickly here, as the killed job's lock is short too.
    ETL_RECONCILE_INTERVAL_MS: '3000',
    ETL_CONCURRENCY: '3',
    ETL_MAX_UNFINISHED_EXPORTS: '3',
    ETL_SCROLL_EXISTS_WAIT_MS: '500',
    LOG_LEVEL: 'warn',
  };
}

function start(kind: Kind, extraArgs: string[] = []): CliProcess {
  const args = kind === 'backfill' ? BACKFILL : kind === 'worker' ? ['worker'] : ['sync', 'companies'];
  const p = startCli([...args, ...extraArgs], childEnv());
  live.add(p);
  void p.exited.then(() => live.delete(p));
  return p;
}

async function sigkill(p: CliProcess): Promise<void> {
  p.child.kill('SIGKILL');
  const { signal } = await p.exited;
  expect(signal, `seed ${SEED}: the process died of SIGKILL`).toBe('SIGKILL');
}

/** Runs `kind` to its end (a clean run), bounded. */
async function runClean(kind: Kind, extraArgs: string[] = []): Promise<string> {
  const p = start(kind, extraArgs);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 240_000);
  const { code } = await p.exited;
  clearTimeout(timer);
  process.stdout.write(`chaos test: clean ${kind} ${extraArgs.join(' ')} done at ${elapsed()}\n`);
  expect(code, `seed ${SEED}: clean ${kind} run exits 0; output:\n${p.output()}`).toBe(0);
  return p.output();
}

const reportTables = () => DATASETS.map((d) => `"${env.schema}"."report_${d}"`);

/** A COPY into one of this test's report tables is running in Postgres (it holds a lock on the table). */
async function reportCopyRunning(): Promise<boolean> {
  const [t1, t2] = reportTables();
  const { rows } = await admin.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity a
      WHERE a.state = 'active' AND a.query LIKE 'COPY "report_%'
        AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.relation IN (to_regclass($1), to_regclass($2)))`,
    [t1, t2],
  );
  return rows[0]!.n > 0;
}

/** Arms the proxy for `phase`; resolves once the process `p()` was killed there. */
function trapFor(phase: 'enqueue' | 'poll' | 'copy', p: () => CliProcess, record: (k: Omit<Kill, 'kind' | 'phase'>) => void): Trap {
  if (phase === 'enqueue') {
    return {
      exchange: 'enqueue',
      countdown: 1 + Math.floor(random() * 2),
      async fire(up, res) {
        // Intercom has accepted the export; the process dies before it hears the job id.
        const jobId = String((JSON.parse(up.body.toString()) as { job_identifier?: string }).job_identifier ?? '');
        await sigkill(p());
        res.destroy();
        const known = await env.query('SELECT 1 FROM etl_export_windows WHERE intercom_job_id = $1', [jobId]);
        orphanExports.push(jobId);
        record({ confirmed: jobId !== '' && known.length === 0, detail: `Intercom job ${jobId} orphaned` });
      },
    };
  }
  if (phase === 'poll') {
    return {
      exchange: 'status',
      countdown: 1 + Math.floor(random() * 3),
      async fire(up, res, path) {
        await sigkill(p());
        res.destroy();
        const jobId = decodeURIComponent(path.split('/').at(-1)!);
        const rows = await env.query<{ status: string }>('SELECT status FROM etl_export_windows WHERE intercom_job_id = $1', [jobId]);
        record({ confirmed: rows.length === 1, detail: `status poll of ${jobId} (window ${rows[0]?.status ?? 'unknown'})` });
      },
    };
  }
  const fraction = 0.2 + random() * 0.6;
  return {
    exchange: 'download',
    countdown: 1,
    async fire(up, res, path) {
      const sent = Math.floor(up.body.length * fraction);
      res.writeHead(up.status, passHeaders(up.headers));
      res.write(up.body.subarray(0, sent));
      let copying = false;
      try {
        await waitFor(reportCopyRunning, 15_000, 'the COPY of a half-sent download');
        copying = true;
      } catch {
        // Recorded as unconfirmed below.
      }
      await sigkill(p());
      res.destroy();
      await expectWindowUntouched(decodeURIComponent(path.split('/').at(-1)!));
      record({ confirmed: copying, detail: `${sent} of ${up.body.length} download bytes sent, COPY running: ${copying}` });
    },
  };
}

/**
 * A load killed half way changed nothing: the window holds exactly the rows of its previous load
 * (none if it never loaded), none of them from the killed export. Read while the killed
 * connection's backend may still be rolling back: only committed rows are visible.
 */
async function expectWindowUntouched(intercomJobId: string): Promise<void> {
  const [w] = await env.query<{
    dataset_id: string;
    window_start: Date;
    window_end: Date;
    status: string;
    rows_loaded: string | null;
    loaded_at: Date | null;
  }>('SELECT dataset_id, window_start, window_end, status, rows_loaded, loaded_at FROM etl_export_windows WHERE intercom_job_id = $1', [
    intercomJobId,
  ]);
  expect(w, `seed ${SEED}: the ledger knows the export ${intercomJobId} whose load was killed`).toBeDefined();
  const [rows] = await env.query<{ n: number; killed: number }>(
    `SELECT count(*)::int AS n, count(*) FILTER (WHERE _intercom_job_id = $3)::int AS killed
       FROM report_${w!.dataset_id} WHERE _window_start = $1 AND _window_end = $2`,
    [w!.window_start, w!.window_end, intercomJobId],
  );
  if (w!.status === 'loaded') {
    // Another attempt of the same export (a job whose lock lapsed under load) finished first.
    expect(rows!.n, `seed ${SEED}: the window's rows match its ledger row`).toBe(Number(w!.rows_loaded));
    return;
  }
  const previous = w!.loaded_at ? Number(w!.rows_loaded) : 0;
  expect(rows, `seed ${SEED}: a load killed mid-COPY leaves the window's previous rows (${previous}) untouched`).toEqual({
    n: previous,
    killed: 0,
  });
}

/**
 * One stage of report kills: restart a backfill or a worker (seeded), wait for the phase the seed
 * chose, kill there; repeat. Only one reporting process runs at a time, so the kill hits the
 * process doing that step.
 */
async function reportChaos(plan: Array<{ phase: 'enqueue' | 'poll' | 'copy'; kind: 'backfill' | 'worker' }>): Promise<void> {
  for (const { phase, kind } of plan) {
    const state: { current: CliProcess; kind: Kind; done: Omit<Kill, 'kind' | 'phase'> | null; error: unknown } = {
      current: start(kind),
      kind,
      done: null,
      error: null,
    };
    const trap = trapFor(
      phase,
      () => state.current,
      (k) => (state.done = k),
    );
    const fire = trap.fire.bind(trap);
    trap.fire = (up, res, path) => fire(up, res, path).catch((err: unknown) => void (state.error = err));
    proxy.trap = trap;
    try {
      await waitFor(
        async () => {
          if (state.done || state.error) return true;
          // A backfill that finished (or a worker with nothing left to do) before the moment came:
          // start the same backfill again — it re-exports the range, so every phase comes again.
          const exited = state.current.child.exitCode !== null;
          if (exited && state.current.child.exitCode !== 0) {
            throw new Error(`seed ${SEED}: a backfill under chaos ended with ${state.current.child.exitCode}:\n${state.current.output()}`);
          }
          if (exited || (state.kind === 'worker' && (await allWindowsFinished()))) {
            if (!exited) await sigterm(state.current);
            state.current = start('backfill');
            state.kind = 'backfill';
          }
          return false;
        },
        120_000,
        `seed ${SEED}: a kill mid-${phase} of a ${kind}`,
      );
    } finally {
      if (proxy.trap === trap) proxy.trap = null;
    }
    if (state.error) throw state.error;
    kills.push({ kind: state.kind, phase, ...state.done!, detail: `${state.done!.detail} [at ${elapsed()}]` });
  }
}

/**
 * A stage's kills: the three phases at least once, the rest drawn. It starts with a backfill (which
 * plans the windows) and a worker (while windows are surely left, so a worker is killed).
 */
function stagePlan(): Array<{ phase: 'enqueue' | 'poll' | 'copy'; kind: 'backfill' | 'worker' }> {
  const phases = ['enqueue', 'poll', 'copy'] as const;
  const extra = Array.from({ length: REPORT_KILLS_PER_STAGE - phases.length }, () => pick(phases));
  const kinds: Array<'backfill' | 'worker'> = ['backfill', 'worker'];
  while (kinds.length < REPORT_KILLS_PER_STAGE) kinds.push(pick(['backfill', 'worker'] as const));
  return shuffle([...phases, ...extra]).map((phase, i) => ({ phase, kind: kinds[i]! }));
}

async function sigterm(p: CliProcess): Promise<void> {
  p.child.kill('SIGTERM');
  await p.exited;
}

async function allWindowsFinished(): Promise<boolean> {
  const rows = await env.query<{ n: number }>(`SELECT count(*)::int AS n FROM etl_export_windows WHERE status NOT IN ('loaded', 'failed')`);
  return rows[0]!.n === 0;
}

/** The table as text rows in the CSV's form, keyed by the fake's attribute ids; and the fake's rows. */
async function tableVsTruth(datasetId: string): Promise<{ got: string[]; want: string[] }> {
  const want = env.fake.expectedRows(datasetId, D0 / 1000, (D0 + DAYS * DAY) / 1000 - 1);
  const attrs = Object.keys(want[0]!);
  // A list column is compared through the text column it is generated from (the field as exported).
  const cols = await env.query<{ attribute_id: string; column_name: string; column_type: string }>(
    `SELECT DISTINCT ON (attribute_id) attribute_id, COALESCE(load_column, column_name) AS column_name, column_type FROM etl_attributes
      WHERE dataset_id = $1 ORDER BY attribute_id, position`,
    [datasetId],
  );
  const byAttr = new Map(cols.map((c) => [c.attribute_id, c]));
  const exprs = attrs.map((a) => {
    const c = byAttr.get(a);
    if (!c) throw new Error(`no column for attribute ${a} of ${datasetId}`);
    const q = `"${c.column_name}"`;
    return c.column_type === 'timestamptz' ? `to_char(${q} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')` : `${q}::text`;
  });
  const rows = await env.query<{ r: (string | null)[] }>(`SELECT ARRAY[${exprs.join(', ')}] AS r FROM report_${datasetId}`);
  return {
    got: rows.map((row) => JSON.stringify(row.r)).sort(),
    want: want.map((w) => JSON.stringify(attrs.map((a) => w[a] ?? null))).sort(),
  };
}

async function expectReportsEqualTruth(stage: string): Promise<void> {
  const ledger = await env.query<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM etl_export_windows GROUP BY status',
  );
  expect(ledger, `seed ${SEED} ${stage}: every window loaded`).toEqual([{ status: 'loaded', n: DATASETS.length * DAYS }]);
  for (const ds of DATASETS) {
    const { got, want } = await tableVsTruth(ds);
    expect(want.length).toBeGreaterThan(DAYS * 500);
    expect(new Set(got).size, `seed ${SEED} ${stage}: ${ds} has no duplicate row`).toBe(got.length);
    expect(got.length, `seed ${SEED} ${stage}: ${ds} row count`).toBe(want.length);
    expect(got, `seed ${SEED} ${stage}: ${ds} rows equal the fake's`).toEqual(want);
  }
  if (orphanExports.length > 0) {
    for (const ds of DATASETS) {
      const fromOrphans = await env.query(`SELECT 1 FROM report_${ds} WHERE _intercom_job_id = ANY($1) LIMIT 1`, [orphanExports]);
      expect(fromOrphans, `seed ${SEED} ${stage}: no row comes from an export the ledger never knew`).toEqual([]);
    }
  }
}

interface CompanyRow {
  id: string;
  name: string | null;
  deleted: boolean;
}

async function companyRows(): Promise<CompanyRow[]> {
  return env.query<CompanyRow>('SELECT id, name, _deleted_at IS NOT NULL AS deleted FROM companies ORDER BY id');
}

/**
 * Kills `sync companies` in its merge: a row lock held here makes the merge's upsert (`variant`
 * upsert: a live company's row) or its marking of deleted companies (`mark-deleted`: a removed
 * company's row) wait; once pg_stat_activity shows the merge blocked on us, SIGKILL.
 */
async function killInMerge(variant: 'upsert' | 'mark-deleted', victimId: string): Promise<void> {
  const before = await companyRows();
  const locker = await admin.connect();
  let p: CliProcess | null = null;
  try {
    await locker.query('BEGIN');
    await locker.query(`SELECT 1 FROM "${env.schema}".companies WHERE id = $1 FOR UPDATE`, [victimId]);
    const { rows } = await locker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const lockerPid = rows[0]!.pid;
    p = start('sync companies');
    let blocked = '';
    await waitFor(
      async () => {
        const r = await admin.query<{ q: string }>(
          // Only the merge touches the row we hold: whatever waits for it is the merge.
          `SELECT left(query, 60) AS q FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`,
          [lockerPid],
        );
        blocked = r.rows[0]?.q ?? '';
        if (!blocked && p!.child.exitCode !== null) throw new Error(`sync companies ended before its merge blocked:\n${p!.output()}`);
        return blocked !== '';
      },
      120_000,
      `seed ${SEED}: the companies merge to block on the row of ${victimId}`,
    );
    await sigkill(p);
    kills.push({
      kind: 'sync companies',
      phase: 'companies-merge',
      confirmed: true,
      detail: `${variant}: killed while "${blocked.replace(/\s+/g, ' ')}…" waited [at ${elapsed()}]`,
    });
  } finally {
    await locker.query('ROLLBACK').catch(() => {});
    locker.release();
    if (p && p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  }
  // The killed merge committed nothing (its transaction dies with the connection).
  expect(await companyRows(), `seed ${SEED}: a merge killed in its ${variant} changes nothing`).toEqual(before);
}

describe(`chaos: SIGKILLed backfill, worker and sync processes (seed ${SEED})`, () => {
  it('the tables equal the fake after 10+ kills mid-enqueue, mid-poll, mid-COPY and mid-merge', { timeout: 600_000 }, async () => {
    try {
      // Reports, data revision 0: kills while backfilling, then a clean run that only finishes what
      // is unfinished (--missing-only): windows loaded under chaos must already be right.
      await reportChaos(stagePlan());
      await runClean('backfill', ['--missing-only']);
      await expectReportsEqualTruth('revision 0');

      // Revision 1 (rows vanish, change and appear): re-export under kills. The first backfill of
      // the stage re-queues every window, so each is loaded again from a revision-1 export; a
      // replacement killed mid-COPY keeps the old rows until then.
      env.fake.setDataRevision(1);
      await reportChaos(stagePlan());
      await runClean('backfill', ['--missing-only']);
      await expectReportsEqualTruth('revision 1');

      // Companies: a clean scroll, then changes at Intercom and two merges killed half way.
      await runClean('sync companies');
      const initial = env.fake.companies().map((c) => String(c.id));
      const removed = shuffle([...initial]).slice(0, 3);
      for (const id of removed) env.fake.removeCompany(id);
      const renamed = pick(env.fake.companies().map((c) => String(c.id)));
      env.fake.updateCompany(renamed, { name: `Renamed ${SEED}` });
      for (const variant of shuffle(['upsert', 'mark-deleted'] as const)) {
        const victim = variant === 'upsert' ? renamed : removed[0]!;
        await killInMerge(variant, victim);
      }
      await runClean('sync companies');
      const want = env.fake
        .companies()
        .map((c) => ({ id: String(c.id), name: (c.name as string | undefined) ?? null, deleted: false }))
        .concat(removed.map((id) => ({ id, name: null, deleted: true })))
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const got = (await companyRows()).map((r) => (r.deleted ? { ...r, name: null } : r));
      expect(got, `seed ${SEED}: companies equal the fake's, only the removed ones marked deleted`).toEqual(want);

      const summary = kills.map((k) => `${k.kind} mid-${k.phase}${k.confirmed ? '' : ' (UNCONFIRMED)'}: ${k.detail}`).join('\n');
      process.stdout.write(`chaos test: seed ${SEED}, ${kills.length} kills:\n${summary}\n`);
      const confirmed = kills.filter((k) => k.confirmed);
      expect(confirmed.length, `seed ${SEED}: at least 10 kills at the intended moments:\n${summary}`).toBeGreaterThanOrEqual(10);
      expect(new Set(confirmed.map((k) => k.phase)), `seed ${SEED}: every phase was hit:\n${summary}`).toEqual(
        new Set(['enqueue', 'poll', 'copy', 'companies-merge']),
      );
      expect(new Set(kills.map((k) => k.kind)).size, `seed ${SEED}: backfill, worker and sync processes were killed:\n${summary}`).toBe(3);
    } catch (err) {
      failed = true;
      const done = kills.map((k) => `${k.kind} mid-${k.phase}: ${k.detail}`).join('\n');
      process.stdout.write(`chaos test: seed ${SEED} FAILED after ${kills.length} kills:\n${done}\n`);
      throw err;
    }
  });
});
