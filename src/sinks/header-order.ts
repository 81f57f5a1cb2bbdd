import type { ReportColumn } from './report-catalogue.js';

/**
 * The requested columns in the order the CSV's header lists them, or null when the header is not
 * exactly the requested attributes (then the caller fails the window, naming the difference).
 *
 * Intercom writes the header in the requested order (brief §3.9), but does not promise it. A header
 * that lists the same attributes in another order can still be loaded exactly, because COPY takes
 * its column list in file order, as long as every header field names one column without doubt: a
 * plain id requested twice (`Brand` from two sources) can only be matched by position.
 */
export function columnsInHeaderOrder(header: string[], columns: ReportColumn[]): ReportColumn[] | null {
  if (header.length !== columns.length) return null;
  const names = (c: ReportColumn) => (c.qualifiedId === null ? [c.attributeId] : [c.attributeId, c.qualifiedId]);
  if (header.every((h, i) => names(columns[i]!).includes(h))) return columns;
  const ambiguous = new Set(columns.map((c) => c.attributeId).filter((id, i, all) => all.indexOf(id) !== i));
  const remaining = [...columns];
  const ordered: ReportColumn[] = [];
  for (const field of header) {
    const idx = remaining.findIndex((c) => names(c).includes(field));
    if (idx < 0 || ambiguous.has(remaining[idx]!.attributeId)) return null;
    ordered.push(remaining.splice(idx, 1)[0]!);
  }
  return ordered;
}
