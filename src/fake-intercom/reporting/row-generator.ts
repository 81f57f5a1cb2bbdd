import type { DatasetDef } from './catalogue.js';
import { hashString, intBetween, mix, unit } from './hashing.js';
import { SECONDS_PER_DAY } from './time-format.js';
import { ROW_ID_DAY_STRIDE } from './value-specs.js';

/**
 * Which rows a dataset has on one UTC day, and when. Row `i` of a day is a pure function of
 * (seed, dataset, day, i, revision), so any window sees the same rows with the same values.
 *
 * Layout of revision 0: `rowsPerDay` rows spread evenly over the day; row 0 is exactly 00:00:00 and
 * the last row exactly 23:59:59 (boundary tests rely on both), the others are jittered inside their slot.
 *
 * A data revision r > 0 is an independent variant of revision 0 (not cumulative): about 10 % of rows
 * vanish, 25 % get new values (id and time unchanged), and ~10 % new rows appear at random times.
 * The two boundary rows never vanish, so window-edge tests hold under any revision.
 */

export interface GeneratorSettings {
  seed: number;
  rowsPerDay: number;
  revision: number;
}

export interface RowDescriptor {
  /** Index of the row within its day; extra rows of a revision get indexes >= rowsPerDay. */
  index: number;
  rowId: number;
  /** Unix seconds of the default time attribute. */
  time: number;
  /** Seed of the row's values (differs from revision 0 when the revision changed the row). */
  valueSeed: number;
  /** Hidden flag: did a user reply? Decides conversation rows before API 2.16. */
  hasUserReply: boolean;
}

const VANISH_RATE = 0.1;
const CHANGE_RATE = 0.25;
const APPEAR_RATE = 0.1;
const NO_USER_REPLY_RATE = 0.15;
const SALT = { jitter: 0x7157, revision: 0xa11ce, userReply: 0xbeef, appearTime: 0x71e };

export function describeDayRows(dataset: DatasetDef, day: number, settings: GeneratorSettings): RowDescriptor[] {
  const { rowsPerDay, revision } = settings;
  const daySeed = mix(mix(settings.seed, hashString(dataset.id)), day);
  const dayStart = day * SECONDS_PER_DAY;
  const rows: RowDescriptor[] = [];
  for (let index = 0; index < rowsPerDay; index++) {
    const rowSeed = mix(daySeed, index);
    const boundary = index === 0 || index === rowsPerDay - 1;
    let valueSeed = rowSeed;
    if (revision > 0) {
      const revisionDraw = unit(mix(mix(rowSeed, SALT.revision), revision));
      if (!boundary && revisionDraw < VANISH_RATE) continue;
      if (revisionDraw < VANISH_RATE + CHANGE_RATE) valueSeed = mix(mix(rowSeed, SALT.revision + 1), revision);
    }
    rows.push({
      index,
      rowId: dataset.idBase + day * ROW_ID_DAY_STRIDE + index,
      time: dayStart + slotOffset(index, rowsPerDay, rowSeed),
      valueSeed,
      hasUserReply: boundary || unit(mix(rowSeed, SALT.userReply)) >= NO_USER_REPLY_RATE,
    });
  }
  if (revision > 0) {
    rows.push(...appearingRows(dataset, day, daySeed, settings));
    rows.sort((a, b) => a.time - b.time || a.index - b.index);
  }
  return rows;
}

/** Seconds after midnight of regular row `index`. */
function slotOffset(index: number, rowsPerDay: number, rowSeed: number): number {
  if (index === 0 || rowsPerDay === 1) return 0;
  const last = SECONDS_PER_DAY - 1;
  if (index === rowsPerDay - 1) return last;
  const slot = last / (rowsPerDay - 1);
  const maxJitter = Math.max(0, Math.floor(slot / 2) - 1); // stays inside the slot: times never overtake
  return Math.floor(index * slot) + intBetween(mix(rowSeed, SALT.jitter), 0, maxJitter);
}

function appearingRows(dataset: DatasetDef, day: number, daySeed: number, settings: GeneratorSettings): RowDescriptor[] {
  const count = Math.ceil(settings.rowsPerDay * APPEAR_RATE);
  const rows: RowDescriptor[] = [];
  for (let j = 0; j < count; j++) {
    const index = settings.rowsPerDay + j;
    const rowSeed = mix(mix(daySeed, index), settings.revision);
    rows.push({
      index,
      rowId: dataset.idBase + day * ROW_ID_DAY_STRIDE + index,
      // strictly inside the day: the midnight boundary rows stay the only rows at 00:00:00/23:59:59
      time: day * SECONDS_PER_DAY + intBetween(mix(rowSeed, SALT.appearTime), 1, SECONDS_PER_DAY - 2),
      valueSeed: rowSeed,
      hasUserReply: unit(mix(rowSeed, SALT.userReply)) >= NO_USER_REPLY_RATE,
    });
  }
  return rows;
}
