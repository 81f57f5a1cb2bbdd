import { quoteIdent as q, quoteLiteral } from '../db/pool.js';
import { datasetViewName, friendlyColumnNames, type SourceColumn } from './bi-naming.js';

/**
 * The SQL of the analysts' views, from what exists (issue 9 §3). Pure: `bi-views.ts` reads the
 * catalogue and information_schema, this decides the views. Raw columns are selected as they are
 * (whatever their type); join keys are compared as text, so they match whatever type a column has.
 */

export interface ReportTable {
  datasetId: string;
  name: string;
  description: string | null;
  tableName: string;
  /** Existing columns: attribute columns in catalogue order, then `_loaded_at`. */
  columns: SourceColumn[];
}

export interface BiSource {
  rawSchema: string;
  reports: ReportTable[];
  /** Existing columns of the entity tables (`companies`, `tickets`, `ticket_states`, `ticket_types`). */
  entities: Map<string, string[]>;
}

export interface ViewDef {
  name: string;
  /** The SELECT the view is created as. */
  sql: string;
  comment: string;
  /** Comments of the view's columns (the attribute's Intercom name and id, or what a join adds). */
  columnComments: Record<string, string>;
}

/** One output column: an SQL expression, its name in the view and its comment. */
interface OutColumn {
  expr: string;
  name: string;
  comment?: string;
}

export function buildViewDefs(src: BiSource): ViewDef[] {
  const raw = (table: string) => `${q(src.rawSchema)}.${q(table)}`;
  const has = (table: string, ...cols: string[]) => cols.every((c) => src.entities.get(table)?.includes(c) ?? false);
  const views: ViewDef[] = [];
  const taken = new Set<string>();
  const ticketsReport = src.reports.find((r) => r.datasetId === 'tickets');
  const col = (t: ReportTable | undefined, attributeId: string) => t?.columns.find((c) => c.attributeId === attributeId)?.columnName;

  for (const table of src.reports) {
    const viewName = datasetViewName(table.datasetId, table.tableName, taken);
    taken.add(viewName);
    const names = friendlyColumnNames(table.columns);
    const out: OutColumn[] = [];
    const metadata: OutColumn[] = []; // after the joined columns: what an analyst reads first comes first
    table.columns.forEach((c, i) => {
      const name = names[i];
      if (name == null) return;
      if (c.attributeId === null) metadata.push({ expr: `r.${q(c.columnName)}`, name, comment: 'When the row was loaded' });
      else out.push({ expr: `r.${q(c.columnName)}`, name, comment: `${c.label ?? c.attributeId} (Intercom attribute ${c.attributeId})` });
    });
    const joins: string[] = [];
    const add = (name: string, expr: string, comment: string) => {
      if (!out.some((o) => o.name === name)) out.push({ expr, name, comment });
    };

    const companyId = col(table, 'company_id');
    if (companyId && has('companies', 'id', 'company_id', 'name', 'updated_at', '_deleted_at')) {
      // One company per company_id: a live one first, then the latest (a deleted company may come back).
      joins.push(
        `LEFT JOIN (SELECT DISTINCT ON (company_id) company_id, id, name FROM ${raw('companies')}
           WHERE company_id IS NOT NULL ORDER BY company_id, (_deleted_at IS NULL) DESC, updated_at DESC NULLS LAST) co
           ON co.company_id = r.${q(companyId)}::text`,
      );
      add('company_intercom_id', 'co.id', "Intercom's id of the company (companies.company_intercom_id), by company_id");
      add('company_name', 'co.name', 'Name of the company, from companies');
    }

    let ticketKey = col(table, 'ticket_id') ? `r.${q(col(table, 'ticket_id')!)}::text` : null;
    const conversationId = col(table, 'conversation_id');
    const reportTicketId = col(ticketsReport, 'ticket_id');
    const reportConversationId = col(ticketsReport, 'conversation_id');
    if (table.datasetId === 'conversation' && !ticketKey && conversationId && ticketsReport && reportTicketId && reportConversationId) {
      // A conversation's ticket: the tickets dataset names the conversation a ticket came from.
      const created = col(ticketsReport, 'ticket_created_at');
      joins.push(
        `LEFT JOIN (SELECT DISTINCT ON (${q(reportConversationId)}::text) ${q(reportConversationId)}::text AS conversation_key,
             ${q(reportTicketId)}::text AS ticket_key FROM ${raw(ticketsReport.tableName)}
           WHERE ${q(reportConversationId)} IS NOT NULL
           ORDER BY ${q(reportConversationId)}::text${created ? `, ${q(created)} DESC` : ''}) ct
           ON ct.conversation_key = r.${q(conversationId)}::text`,
      );
      ticketKey = 'ct.ticket_key';
      add('ticket_id', ticketKey, "Intercom's id of the ticket raised from this conversation (the latest), from the tickets dataset");
    }
    if (ticketKey && has('tickets', 'id', 'ticket_id', 'ticket_type_name', 'ticket_state_internal_label')) {
      joins.push(`LEFT JOIN ${raw('tickets')} tk ON tk.id = ${ticketKey}`);
      add('ticket_number', 'tk.ticket_id', "The ticket's inbox number (tickets.ticket_number)");
      add(
        'ticket_type_name',
        `COALESCE(tk.ticket_type_name, ${resolveName(src, 'ticket_types', 'name', col(table, 'ticket_type_id'))})`,
        "The ticket's current type, from tickets (else the export's, resolved through ticket_types)",
      );
      add(
        'ticket_state_name',
        `COALESCE(tk.ticket_state_internal_label, ${resolveName(src, 'ticket_states', 'internal_label', col(table, 'current_ticket_custom_state_id'))})`,
        "The ticket's current state (internal label), from tickets (else the export's, resolved through ticket_states)",
      );
    }

    out.push(...metadata.filter((m) => !out.some((o) => o.name === m.name)));
    const select = out.map((o) => `${o.expr} AS ${q(o.name)}`).join(',\n  ');
    views.push({
      name: viewName,
      sql: `SELECT\n  ${select}\nFROM ${raw(table.tableName)} r\n${joins.join('\n')}`,
      comment: `${table.name}${table.description ? `: ${table.description}` : ''} (dataset ${table.datasetId}, table ${src.rawSchema}.${table.tableName})`,
      columnComments: Object.fromEntries(out.filter((o) => o.comment).map((o) => [o.name, o.comment!])),
    });
  }

  views.push(...entityViews(src, raw, has));
  return views;
}

/**
 * A ticket type or state named by the export: resolved by id, else kept as the export wrote it
 * (Intercom writes names in most `…_id` attributes; a numeric id is looked up).
 */
function resolveName(src: BiSource, table: string, nameCol: string, column: string | undefined): string {
  if (column === undefined) return 'NULL';
  const value = `r.${q(column)}::text`;
  if (!src.entities.get(table)?.includes(nameCol)) return value;
  return `COALESCE((SELECT x.${q(nameCol)} FROM ${q(src.rawSchema)}.${q(table)} x WHERE x.id = ${value}), ${value})`;
}

function entityViews(src: BiSource, raw: (t: string) => string, has: (t: string, ...c: string[]) => boolean): ViewDef[] {
  const views: ViewDef[] = [];
  /** Every column not starting with `_`, renamed and re-expressed where asked, then `extra`. */
  const plain = (table: string, renames: Record<string, string>, extra: OutColumn[] = [], exprs: Record<string, string> = {}) => {
    const cols = (src.entities.get(table) ?? []).filter((c) => !c.startsWith('_'));
    const out = cols.map((c) => ({ expr: exprs[c] ?? `e.${q(c)}`, name: renames[c] ?? c }));
    out.push(...extra.filter((x) => !out.some((o) => o.name === x.name)));
    return out.map((o) => `${o.expr} AS ${q(o.name)}`).join(',\n  ');
  };
  if (has('companies', 'id', '_deleted_at')) {
    views.push({
      name: 'companies',
      sql: `SELECT\n  ${plain('companies', { id: 'company_intercom_id' }, [
        { expr: 'e._deleted_at IS NOT NULL', name: 'is_deleted' },
        { expr: 'e._deleted_at', name: 'deleted_at' },
      ])}\nFROM ${raw('companies')} e`,
      columnComments: {},
      comment: `Companies (Intercom's id is company_intercom_id; company_id is the workspace's own id, as in the reports). Deleted ones are kept with is_deleted.`,
    });
  }
  if (has('tickets', 'id', 'ticket_id')) {
    const stateName =
      has('ticket_states', 'id', 'internal_label') && has('tickets', 'ticket_state_id')
        ? `COALESCE((SELECT s.internal_label FROM ${raw('ticket_states')} s WHERE s.id = e.ticket_state_id), e.ticket_state_internal_label)`
        : has('tickets', 'ticket_state_internal_label')
          ? 'e.ticket_state_internal_label'
          : 'NULL::text';
    const typeName =
      has('ticket_types', 'id', 'name') && has('tickets', 'ticket_type_id')
        ? `COALESCE((SELECT t.name FROM ${raw('ticket_types')} t WHERE t.id = e.ticket_type_id), e.ticket_type_name)`
        : has('tickets', 'ticket_type_name')
          ? 'e.ticket_type_name'
          : 'NULL::text';
    views.push({
      name: 'tickets',
      sql: `SELECT\n  ${plain(
        'tickets',
        { id: 'ticket_id', ticket_id: 'ticket_number' },
        [{ expr: stateName, name: 'ticket_state_name' }],
        {
          ticket_type_name: typeName,
        },
      )}\nFROM ${raw('tickets')} e`,
      columnComments: {},
      comment: `Tickets as the API last returned them. ticket_id is Intercom's id (as in the reports), ticket_number the inbox number.`,
    });
  }
  for (const table of ['ticket_states', 'ticket_types']) {
    if (has(table, 'id'))
      views.push({
        name: table,
        sql: `SELECT\n  ${plain(table, {})}\nFROM ${raw(table)} e`,
        comment: `Intercom's ${table.replace('_', ' ')}.`,
        columnComments: {},
      });
  }
  return views;
}

/** The comments of one view in `biSchema` and of its columns. */
export function commentStatements(biSchema: string, view: ViewDef): string[] {
  const name = `${q(biSchema)}.${q(view.name)}`;
  return [
    `COMMENT ON VIEW ${name} IS ${quoteLiteral(view.comment)}`,
    ...Object.entries(view.columnComments).map(([col, text]) => `COMMENT ON COLUMN ${name}.${q(col)} IS ${quoteLiteral(text)}`),
  ];
}
