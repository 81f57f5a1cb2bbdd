/**
 * The names in `candidates` closest to `wanted`, for "did you mean" hints: those containing it or
 * contained in it, then those within a third of its length in edits (Levenshtein), best first.
 */
export function closeMatches(wanted: string, candidates: readonly string[], limit = 3): string[] {
  const w = wanted.toLowerCase();
  const budget = Math.max(2, Math.floor(w.length / 3));
  return candidates
    .map((c) => {
      const l = c.toLowerCase();
      const contains = l.includes(w) || w.includes(l);
      return { c, d: contains ? 0 : editDistance(w, l) };
    })
    .filter((x) => x.d <= budget)
    .sort((a, b) => a.d - b.d || a.c.localeCompare(b.c))
    .slice(0, limit)
    .map((x) => x.c);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
