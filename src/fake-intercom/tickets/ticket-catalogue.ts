/**
 * The workspace's ticket types, their attributes and the ticket states (brief §6.2). Fixed data: ids
 * look like Intercom's (numeric strings) and labels include commas, quotes and emoji on purpose.
 */

export type TicketCategory = 'Customer' | 'Back-office' | 'Tracker';
export type StateCategory = 'submitted' | 'in_progress' | 'waiting_on_customer' | 'resolved';
export type AttributeDataType = 'string' | 'list' | 'integer' | 'decimal' | 'boolean' | 'datetime';

export interface AttributeDef {
  id: string;
  name: string;
  description: string;
  dataType: AttributeDataType;
  /** For `list` attributes: the choices. */
  options?: readonly string[];
  multiline?: boolean;
}

export interface TicketTypeDef {
  id: string;
  name: string;
  description: string;
  icon: string;
  category: TicketCategory;
  attributes: readonly AttributeDef[];
  stateIds: readonly string[];
}

export interface TicketStateDef {
  id: string;
  category: StateCategory;
  internalLabel: string;
  externalLabel: string;
  archived: boolean;
}

/** Ticket types were "created" at 2024-01-01T00:00:00Z. */
export const CATALOGUE_CREATED_AT = 1_704_067_200;

export const TICKET_STATES: readonly TicketStateDef[] = [
  { id: '8321', category: 'submitted', internalLabel: 'Submitted', externalLabel: 'Submitted', archived: false },
  { id: '8322', category: 'in_progress', internalLabel: 'In progress', externalLabel: 'In progress', archived: false },
  { id: '8323', category: 'waiting_on_customer', internalLabel: 'Waiting on customer', externalLabel: 'Waiting on you', archived: false },
  { id: '8324', category: 'resolved', internalLabel: 'Resolved', externalLabel: 'Resolved', archived: false },
  { id: '8325', category: 'submitted', internalLabel: 'Triage, "urgent" 🔥', externalLabel: 'Received', archived: false },
  { id: '8326', category: 'in_progress', internalLabel: 'Escalated to engineering', externalLabel: 'In progress', archived: false },
  // Archived: listed by /ticket_states but no ticket is in it.
  { id: '8327', category: 'resolved', internalLabel: "Won't fix", externalLabel: 'Closed', archived: true },
];

const defaults = (firstId: number): AttributeDef[] => [
  { id: String(firstId), name: '_default_title_', description: 'Title', dataType: 'string', multiline: false },
  { id: String(firstId + 1), name: '_default_description_', description: 'Description', dataType: 'string', multiline: true },
];

export const TICKET_TYPES: readonly TicketTypeDef[] = [
  {
    id: '67',
    name: 'Bug report',
    description: 'Something in the product does not work as it should.',
    icon: '🐞',
    category: 'Customer',
    attributes: [
      ...defaults(165),
      { id: '167', name: 'Severity', description: 'How bad is it?', dataType: 'list', options: ['Low', 'Medium', 'High', 'Critical'] },
      { id: '168', name: 'Reproducible', description: 'Can we reproduce it?', dataType: 'boolean' },
      { id: '169', name: 'Affected users', description: 'Users affected', dataType: 'integer' },
      { id: '170', name: 'App version', description: 'Version, build', dataType: 'string' },
    ],
    stateIds: ['8321', '8322', '8323', '8324', '8325', '8326', '8327'],
  },
  {
    id: '68',
    name: 'Refund approval',
    description: 'Back-office approval of a refund.',
    icon: '💸',
    category: 'Back-office',
    attributes: [
      ...defaults(171),
      { id: '173', name: 'Amount', description: 'Refund amount (EUR)', dataType: 'decimal' },
      { id: '174', name: 'Approved', description: 'Approved by finance', dataType: 'boolean' },
      { id: '175', name: 'Due date', description: 'Pay out before', dataType: 'datetime' },
    ],
    stateIds: ['8321', '8322', '8323', '8324', '8325'],
  },
  {
    id: '69',
    name: 'Platform incident',
    description: 'Tracks an incident that affects many customers.',
    icon: '🚨',
    category: 'Tracker',
    attributes: [
      ...defaults(176),
      { id: '178', name: 'Impact score', description: 'From 0 to 10', dataType: 'decimal' },
      { id: '179', name: 'Postmortem URL', description: 'Link to the write-up', dataType: 'string' },
      { id: '180', name: 'Linked customers', description: 'Customers who reported it', dataType: 'integer' },
    ],
    stateIds: ['8321', '8322', '8324', '8326'],
  },
];

export function stateById(id: string): TicketStateDef | undefined {
  return TICKET_STATES.find((s) => s.id === id);
}

export function typeById(id: string): TicketTypeDef | undefined {
  return TICKET_TYPES.find((t) => t.id === id);
}

/** `ticket_attribute.{id}` in search; the attribute's name is also accepted (the fake is lenient there). */
export function attributeByIdOrName(key: string): AttributeDef | undefined {
  for (const type of TICKET_TYPES) {
    const found = type.attributes.find((a) => a.id === key) ?? type.attributes.find((a) => a.name === key);
    if (found !== undefined) return found;
  }
  return undefined;
}

export function stateJson(state: TicketStateDef): Record<string, unknown> {
  return {
    type: 'ticket_state',
    id: state.id,
    category: state.category,
    internal_label: state.internalLabel,
    external_label: state.externalLabel,
  };
}

function attributeJson(type: TicketTypeDef, attr: AttributeDef, order: number, workspaceId: string): Record<string, unknown> {
  const isDefault = attr.name.startsWith('_default_');
  return {
    type: 'ticket_type_attribute',
    id: attr.id,
    workspace_id: workspaceId,
    name: attr.name,
    description: attr.description,
    data_type: attr.dataType,
    input_options: inputOptions(attr),
    order,
    required_to_create: false,
    required_to_create_for_contacts: false,
    visible_on_create: true,
    visible_to_contacts: isDefault,
    default: isDefault,
    ticket_type_id: Number(type.id),
    archived: false,
    created_at: CATALOGUE_CREATED_AT,
    updated_at: CATALOGUE_CREATED_AT,
  };
}

/** Examples show `null` for attributes without options, but the schema says object: send `{}`. */
function inputOptions(attr: AttributeDef): Record<string, unknown> {
  if (attr.options !== undefined)
    return { list_options: attr.options.map((label, i) => ({ id: `${attr.id}-${i}`, label, archived: false })) };
  return attr.multiline !== undefined ? { multiline: attr.multiline } : {};
}

/** The ticket_type object as embedded in tickets and listed by `GET /ticket_types`. */
export function ticketTypeJson(type: TicketTypeDef, workspaceId: string): Record<string, unknown> {
  return {
    type: 'ticket_type',
    id: type.id,
    category: type.category,
    name: type.name,
    description: type.description,
    icon: type.icon,
    workspace_id: workspaceId,
    archived: false,
    created_at: CATALOGUE_CREATED_AT,
    updated_at: CATALOGUE_CREATED_AT,
    is_internal: type.category !== 'Customer',
    // The examples use `data` (the schema names the array `ticket_type_attributes`): follow the examples.
    ticket_type_attributes: { type: 'list', data: type.attributes.map((a, i) => attributeJson(type, a, i, workspaceId)) },
    ticket_states: { type: 'list', data: type.stateIds.map((id) => stateJson(stateById(id)!)) },
  };
}

/** `GET /ticket_states` items: each state with `archived` and the short form of its ticket types. */
export function ticketStateListItem(state: TicketStateDef): Record<string, unknown> {
  const types = TICKET_TYPES.filter((t) => t.stateIds.includes(state.id));
  return {
    ...stateJson(state),
    archived: state.archived,
    ticket_types: {
      type: 'list',
      data: types.map((t) => ({
        type: 'ticket_type',
        id: t.id,
        name: t.name,
        description: t.description,
        icon: t.icon,
        archived: false,
        is_internal: t.category !== 'Customer',
        category: t.category,
      })),
    },
  };
}
