import { connectIntercom, type AppContext } from '../context.js';
import { describeError } from '../errors.js';
import { dispatchWindows } from '../pipeline/dispatch-windows.js';
import { windowLauncher } from './export-window.js';

/**
 * A backstop, so not often: the job that frees a slot dispatches at once. Sooner again right
 * after a tick that started windows (a plan just queued by another process may have more).
 */
const TICK_MS = 5_000;
const AFTER_START_MS = 1_000;

export interface DispatchTicker {
  stop(): void;
}

/**
 * Each worker process's backstop dispatcher: every 5 s (at start-up at once) it starts waiting
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
    let next = TICK_MS;
    try {
      const session = await connectIntercom(ctx);
      const free = await session.slots.free();
      if (free > 0 && (await dispatchWindows(ctx, session, launcher, free)) > 0) next = AFTER_START_MS;
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
