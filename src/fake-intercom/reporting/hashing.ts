/**
 * Stateless, seeded pseudo-randomness. Every generated value is `hash(seed, dataset, day, row, attribute)`
 * rather than the n-th draw of a stream, so a row looks the same whichever window asked for it and
 * adding an attribute does not shift any other value.
 */

/** FNV-1a over UTF-16 code units: stable 32-bit key for names. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Fold one 32-bit integer into a hash (MurmurHash3 round + finaliser). */
export function mix(hash: number, value: number): number {
  let k = Math.imul(value | 0, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  let h = (hash | 0) ^ k;
  h = (h << 13) | (h >>> 19);
  h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Uniform in [0, 1). */
export function unit(hash: number): number {
  return hash / 0x1_0000_0000;
}

/** Uniform integer in [min, max]. */
export function intBetween(hash: number, min: number, max: number): number {
  return min + Math.floor(unit(hash) * (max - min + 1));
}

export function pick<T>(hash: number, values: readonly T[]): T {
  const value = values[Math.floor(unit(hash) * values.length)];
  if (value === undefined) throw new Error('pick() from an empty list');
  return value;
}

/** mulberry32: a tiny seeded generator of numbers in [0, 1), so that a seed replays the same sequence. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
