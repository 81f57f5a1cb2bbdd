import { connectIntercom, type AppContext } from '../context.js';
import { describeError } from '../errors.js';
import { dispatchWindows } from '../pipeline/dispatch-windows.js';
import { windowLauncher } from './export-window.js';

/** Tick while windows wait or slots are busy; slower once the ledger has nothing waiting. */
const BUSY_TICK_MS = 1_000;
const IDLE_TICK_MS = 5_000;

export interface DispatchTicker {
  stop(): void;
}

/**
 * Each worker process's backstop dispatcher: every second (5 s when idle) it starts waiting
 * windows into free export slots. Slots are normally refilled at once by the job that frees one;
 * the tick starts a plan queued by another process (backfill, nightly run), windows whose
 * dispatcher died between claim and start, and slots freed by another installation or by a lease
 * that ran out. With every slot busy a tick is one Redis call.
 */
export function startDispatchTicker(ctx: AppContext): DispatchTicker {
  if (!ctx.config.intercom.token) return { stop() {} }; // no Intercom, nothing to dispatch
  const launcher = windowLauncher(ctx);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = async (): Promise<void> => {
    let next = IDLE_TICK_MS;
    try {
      const session = await connectIntercom(ctx);
      const started = await dispatchWindows(ctx, session, launcher);
      if (started > 0 || (await session.slots.free()) === 0) next = BUSY_TICK_MS;
    } catch (err) {
      ctx.log.warn({ err: describeError(err) }, 'dispatcher tick failed; trying again');
    }
    if (!stopped) timer = setTimeout(() => void tick(), next);
  };
  timer = setTimeout(() => void tick(), 0);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
