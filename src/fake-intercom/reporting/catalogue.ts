import { hashString } from './hashing.js';
import { TICKET_STATES, TICKET_TYPES } from '../tickets/ticket-catalogue.js';
import { categoryLabel } from './entity-refs.js';
import { bool, company, duration, label, ROW_ID, ROW_TIME, team, teammate, ticketField, timeAfter, type ValueSpec } from './value-specs.js';
import { AWAY_REASONS, COUNTRY_CODES, LANGUAGES, REMARKS, TICKET_DESCRIPTIONS, TICKET_TITLES } from './value-pools.js';

/**
 * The fake's reporting catalogue: datasets and attribute ids observed in real exports (brief §3.10),
 * cut to 8–25 attributes each. Qualified ids use the observed prefixes (`standard.`, `timestamp.`,
 * `duration.`, `team.`, `teammate.`, `conversation.`, `people.`, `call.`, `conversation-rating-sent.`).
 */

export interface AttributeDef {
  /** Plain id: what get_datasets calls `id` and what the CSV header shows. Not unique (see `Brand`). */
  id: string;
  name: string;
  /** `prefix.id`, unique within the dataset. */
  qualifiedId: string;
  value: ValueSpec;
  /** Seeds the attribute's values; paired attributes (team name + raw id) share it so they agree. */
  hashKey: number;
}

export interface DatasetDef {
  id: string;
  name: string;
  description: string;
  defaultTimeAttributeId: string;
  /** Base of the dataset's numeric row ids. */
  idBase: number;
  /** Only `conversation`: rows without a user reply are hidden before API 2.16. */
  hidesRowsWithoutUserReply: boolean;
  /** Only `tickets`: its recent rows stand for the fake's tickets (see entity-refs.ts). */
  rowsAreTickets?: boolean;
  attributes: AttributeDef[];
}

export function attribute(qualifiedId: string, name: string, value: ValueSpec, pairKey?: string): AttributeDef {
  const dot = qualifiedId.indexOf('.');
  if (dot <= 0 || dot === qualifiedId.length - 1) throw new Error(`qualified id must be prefix.id, got '${qualifiedId}'`);
  return { id: qualifiedId.slice(dot + 1), name, qualifiedId, value, hashKey: hashString(pairKey ?? qualifiedId) };
}

const ID_BASE = {
  conversation: 215_472_856_000_000,
  part: 31_000_000_000_000,
  rating: 41_000_000_000_000,
  state: 51_000_000_000_000,
  status: 61_000_000_000_000,
  ticket: 71_000_000_000_000,
  call: 81_000_000_000_000,
};

const CHANNELS = ['Chat', 'Chat', 'Email', 'Email', 'Phone call', 'SMS', 'WhatsApp'];
const STATES = ['Open', 'Closed', 'Snoozed'];
const TICKET_TYPE_NAMES = TICKET_TYPES.map((t) => t.name);
const STATE_LABELS = TICKET_STATES.filter((s) => !s.archived).map((s) => s.internalLabel);
const STATE_CATEGORIES = [...new Set(TICKET_STATES.map((s) => categoryLabel(s.category)))];
const conversationRef: ValueSpec = { kind: 'refId', base: ID_BASE.conversation };

function conversationDataset(): DatasetDef {
  return {
    id: 'conversation',
    name: 'Conversation',
    description: 'Conversation-level details: status, channel, assignee.',
    defaultTimeAttributeId: 'conversation_started_at',
    idBase: ID_BASE.conversation,
    hidesRowsWithoutUserReply: true,
    attributes: [
      attribute('standard.conversation_id', 'Conversation ID', ROW_ID),
      attribute('timestamp.conversation_started_at', 'Conversation started at', ROW_TIME),
      attribute('timestamp.conversation_first_closed_at', 'Conversation first closed at', timeAfter(5 * 86_400, 0.3)),
      attribute('timestamp.conversation_first_teammate_reply_at', 'First teammate reply at', timeAfter(6 * 3600, 0.2)),
      attribute('standard.channel', 'Channel', label(CHANNELS)),
      attribute('standard.conversation_started_by', 'Started by', label(['User', 'Teammate', 'Automation'])),
      attribute('standard.current_conversation_state', 'Current conversation state', label(STATES)),
      attribute('team.currently_assigned_team_id', 'Team currently assigned', team('name'), 'assigned_team'),
      attribute('team.currently_assigned_team_raw_id', 'Team currently assigned (raw id)', team('rawId'), 'assigned_team'),
      attribute('teammate.currently_assigned_teammate_id', 'Teammate currently assigned', teammate('name'), 'assigned_teammate'),
      attribute(
        'teammate.currently_assigned_teammate_raw_id',
        'Teammate currently assigned (raw id)',
        teammate('rawId'),
        'assigned_teammate',
      ),
      attribute('teammate.reply_participant_teammate_ids', 'Teammates who replied', { kind: 'teammateList', max: 3 }),
      attribute('duration.conversation_first_response_time', 'First response time', duration(20_000, 0.2)),
      attribute('duration.first_response_time_excluding_bot_inbox', 'First response time (excluding bot inbox)', duration(20_000, 0.25)),
      attribute('duration.conversation_time_to_close', 'Time to close', duration(400_000, 0.3)),
      attribute('standard.teammate_replies_count', 'Teammate replies', { kind: 'count', max: 12 }),
      attribute('standard.conversation_tag_ids', 'Conversation tags', { kind: 'tagList', max: 3 }),
      attribute('standard.last_teammate_rating', 'Last teammate rating', { kind: 'rating', nullRate: 0.6 }),
      attribute('standard.last_teammate_rating_remark', 'Last teammate rating remark', label(REMARKS, 0.5)),
      attribute('standard.fin_ai_agent_participated', 'Fin AI Agent participated', bool(0.3)),
      attribute('standard.language', 'Conversation language', label(LANGUAGES)),
      attribute(
        'conversation.Csat Overall Experience',
        'Csat Overall Experience',
        label(['Very satisfied', 'Satisfied', 'Neutral', 'Dissatisfied'], 0.5),
      ),
      // `Brand` exists both as a conversation and a people attribute: the plain id is ambiguous.
      attribute('conversation.Brand', 'Brand', label(['Acme', 'Acme Pro', 'Globex'], 0.1)),
      attribute('people.Brand', 'Brand', label(['Initech', 'Umbrella', 'Hooli'], 0.3)),
      // The company of the user who started it: the workspace's own `company_id`, not Intercom's `id`.
      attribute('company.company_id', 'Company ID', company('companyId', 0.15)),
    ],
  };
}

function consolidatedConversationPartDataset(): DatasetDef {
  return {
    id: 'consolidated_conversation_part',
    name: 'Conversation actions',
    description: 'One row per conversation action (reply, assignment, close, …) with response times.',
    defaultTimeAttributeId: 'action_time',
    idBase: ID_BASE.part,
    hidesRowsWithoutUserReply: false,
    attributes: [
      attribute('standard.action_id', 'Action ID', ROW_ID),
      attribute('timestamp.action_time', 'Action time', ROW_TIME),
      attribute('standard.conversation_id', 'Conversation ID', conversationRef),
      attribute(
        'standard.action_type',
        'Action type',
        label(['Teammate reply', 'User reply', 'Assignment', 'Close', 'Reopen', 'Note', 'Snooze']),
      ),
      attribute('teammate.action_performed_by_teammate_id', 'Action performed by', teammate('name', 0.3)),
      attribute('team.action_team_assignee_id', 'Team assignee', team('name')),
      attribute('teammate.action_teammate_assignee_id', 'Teammate assignee', teammate('name', 0.4)),
      attribute('teammate.teammate_mentioned_ids', 'Teammates mentioned', { kind: 'teammateList', max: 2 }),
      attribute('duration.response_time', 'Response time', duration(30_000, 0.4)),
      attribute('duration.response_time_in_office_hours', 'Response time (office hours)', duration(20_000, 0.4)),
      attribute('duration.teammate_first_response_time', 'Teammate first response time', duration(20_000, 0.5)),
      attribute('duration.team_time_to_close', 'Team time to close', duration(300_000, 0.6)),
      attribute('standard.action_by_automation', 'Action by automation', bool(0.2)),
      attribute('standard.channel', 'Channel', label(CHANNELS)),
    ],
  };
}

function conversationRatingSentDataset(): DatasetDef {
  return {
    id: 'conversation_rating_sent',
    name: 'Conversation ratings',
    description: 'Conversation ratings (CSAT) sent by customers, with the rated teammate or agent.',
    defaultTimeAttributeId: 'conversation_rating_updated_at',
    idBase: ID_BASE.rating,
    hidesRowsWithoutUserReply: false,
    attributes: [
      attribute('standard.conversation_rating_id', 'Conversation rating ID', ROW_ID),
      attribute('timestamp.conversation_rating_updated_at', 'Rating updated at', ROW_TIME),
      attribute('standard.conversation_id', 'Conversation ID', conversationRef),
      attribute('standard.conversation_rating', 'Conversation rating', { kind: 'rating', nullRate: 0 }),
      attribute('standard.conversation_rating_remark', 'Rating remark', label(REMARKS, 0.3)),
      attribute('teammate.rated_teammate_id', 'Rated teammate', teammate('name', 0.2)),
      attribute('conversation-rating-sent.rated_agent_type', 'Rated agent type', label(['Teammate', 'Fin AI Agent', 'Custom bot'])),
      attribute('teammate.rating_participant_teammate_ids', 'Participating teammates', { kind: 'teammateList', max: 3 }),
      attribute('standard.rating_participant_fin_ai_agent', 'Fin AI Agent participated', bool(0.3)),
      attribute('standard.channel', 'Channel', label(CHANNELS)),
      attribute('people.user_name', 'User name', { kind: 'person', part: 'name' }, 'user'),
      attribute('people.user_email', 'User email', { kind: 'person', part: 'email' }, 'user'),
      attribute('people.user_location_country_code', 'User country code', label(COUNTRY_CODES, 0.1)),
    ],
  };
}

function conversationStateDataset(): DatasetDef {
  return {
    id: 'conversation_state',
    name: 'Conversation states',
    description: 'Periods a conversation spent in each state (open, snoozed, closed).',
    defaultTimeAttributeId: 'conversation_state_started_at',
    idBase: ID_BASE.state,
    hidesRowsWithoutUserReply: false,
    attributes: [
      attribute('standard.conversation_id', 'Conversation ID', conversationRef),
      attribute('standard.conversation_state', 'Conversation state', label(STATES)),
      attribute('standard.previous_conversation_state', 'Previous conversation state', label(STATES, 0.2)),
      attribute('timestamp.conversation_state_started_at', 'State started at', ROW_TIME),
      attribute('timestamp.conversation_state_ended_at', 'State ended at', timeAfter(3 * 86_400, 0.25)),
      attribute('standard.channel', 'Channel', label(CHANNELS)),
      attribute('team.currently_assigned_team_id', 'Team currently assigned', team('name')),
      attribute('teammate.currently_assigned_teammate_id', 'Teammate currently assigned', teammate('name')),
      attribute('standard.conversation_tag_ids', 'Conversation tags', { kind: 'tagList', max: 2 }),
    ],
  };
}

function adminStatusChangeDataset(): DatasetDef {
  return {
    id: 'admin_status_change',
    name: 'Teammate status period',
    description: 'Periods teammates spent active or away, with the away reason.',
    defaultTimeAttributeId: 'teammate_status_period_started_at',
    idBase: ID_BASE.status,
    hidesRowsWithoutUserReply: false,
    attributes: [
      attribute('standard.teammate_status_id', 'Status period ID', ROW_ID),
      attribute('timestamp.teammate_status_period_started_at', 'Status period started at', ROW_TIME),
      attribute('timestamp.teammate_status_period_ended_at', 'Status period ended at', timeAfter(8 * 3600, 0.1)),
      attribute('teammate.teammate_id', 'Teammate', teammate('name', 0), 'status_teammate'),
      attribute('teammate.teammate_raw_id', 'Teammate (raw id)', teammate('rawId', 0), 'status_teammate'),
      attribute('standard.teammate_status', 'Status', label(['Active', 'Away', 'Away and reassigning'])),
      attribute('standard.teammate_away_reason', 'Away reason', label(AWAY_REASONS, 0.5)),
      attribute('duration.time_on_status', 'Time on status', duration(8 * 3600, 0, false)),
    ],
  };
}

function ticketsDataset(): DatasetDef {
  return {
    id: 'tickets',
    name: 'Tickets',
    description: 'Ticket-level details: type, state, creator, resolution time.',
    defaultTimeAttributeId: 'ticket_created_at',
    idBase: ID_BASE.ticket,
    hidesRowsWithoutUserReply: false,
    rowsAreTickets: true,
    attributes: [
      attribute('standard.ticket_id', 'Ticket ID', ticketField('id', ROW_ID)),
      attribute('timestamp.ticket_created_at', 'Ticket created at', ROW_TIME),
      attribute('timestamp.ticket_last_resolved_at', 'Ticket last resolved at', timeAfter(7 * 86_400, 0.4)),
      attribute('duration.ticket_time_to_resolve', 'Time to resolve', duration(7 * 86_400, 0.4)),
      attribute('standard.ticket_type_id', 'Ticket type', ticketField('type', label(TICKET_TYPE_NAMES))),
      attribute('standard.current_ticket_state_category', 'Ticket state category', ticketField('category', label(STATE_CATEGORIES))),
      attribute('standard.current_ticket_custom_state_id', 'Ticket state', ticketField('state', label(STATE_LABELS))),
      attribute('standard.ticket_title', 'Ticket title', ticketField('title', label(TICKET_TITLES))),
      attribute('standard.ticket_description', 'Ticket description', label(TICKET_DESCRIPTIONS, 0.2)),
      attribute('standard.ticket_shared_with_customer', 'Shared with customer', bool(0.6)),
      attribute('standard.ticket_created_via', 'Created via', label(['Teammate', 'Customer', 'API', 'Workflow'])),
      attribute('teammate.ticket_created_by_teammate_id', 'Created by', teammate('name', 0.3), 'ticket_creator'),
      attribute('teammate.ticket_created_by_teammate_raw_id', 'Created by (raw id)', teammate('rawId', 0.3), 'ticket_creator'),
      attribute('teammate.ticket_resolved_by_teammate_id', 'Resolved by', teammate('name', 0.4), 'ticket_resolver'),
      attribute('teammate.ticket_resolved_by_teammate_raw_id', 'Resolved by (raw id)', teammate('rawId', 0.4), 'ticket_resolver'),
      attribute('standard.ticket_url', 'Ticket URL', {
        kind: 'url',
        template: 'https://app.intercom.com/a/inbox/{workspace}/inbox/conversation/{rowId}',
      }),
      attribute('people.user_email', 'User email', { kind: 'person', part: 'email' }, 'ticket_user'),
      // The conversation the ticket came from, and the user's company (`company_id`, and its name).
      attribute('standard.conversation_id', 'Conversation ID', conversationRef),
      attribute('company.company_id', 'Company ID', company('companyId', 0.1), 'ticket_company'),
      attribute('people.company_name', 'Company name', company('name', 0.1), 'ticket_company'),
    ],
  };
}

function callTeamStatsDataset(): DatasetDef {
  return {
    id: 'call_team_stats',
    name: 'Calls team stats',
    description: 'Phone calls per team: direction, state, queue, answer and talk times.',
    defaultTimeAttributeId: 'call_initiated_at',
    idBase: ID_BASE.call,
    hidesRowsWithoutUserReply: false,
    attributes: [
      attribute('call.call_id', 'Call ID', ROW_ID),
      attribute('timestamp.call_initiated_at', 'Call initiated at', ROW_TIME),
      attribute('call.call_direction', 'Call direction', label(['Inbound', 'Inbound', 'Outbound'])),
      attribute(
        'call.call_state',
        'Call state',
        label(['Answered', 'Answered', 'Abandoned in queue', 'Abandoned on hold', 'Voicemail left']),
      ),
      attribute('call.call_answer_time', 'Answer time', duration(300, 0.3)),
      attribute('call.call_queue_time', 'Queue time', duration(900, 0.1)),
      attribute('call.call_talk_time', 'Talk time', duration(3600, 0.3)),
      attribute('team.call_team_id', 'Call team', team('name')),
    ],
  };
}

/** A fresh, mutable catalogue (the control API can add attributes to a server's own copy). */
export function buildCatalogue(): DatasetDef[] {
  return [
    conversationDataset(),
    consolidatedConversationPartDataset(),
    conversationRatingSentDataset(),
    conversationStateDataset(),
    adminStatusChangeDataset(),
    ticketsDataset(),
    callTeamStatsDataset(),
  ];
}

/**
 * Resolve a requested attribute id: an exact qualified id first, else the FIRST attribute whose plain
 * id matches (ASSUMPTION: how Intercom resolves an ambiguous plain id such as `Brand`).
 */
export function resolveAttribute(dataset: DatasetDef, requested: string): AttributeDef | undefined {
  return dataset.attributes.find((a) => a.qualifiedId === requested) ?? dataset.attributes.find((a) => a.id === requested);
}

export function defaultTimeAttribute(dataset: DatasetDef): AttributeDef {
  const found = dataset.attributes.find((a) => a.id === dataset.defaultTimeAttributeId);
  if (!found) throw new Error(`dataset ${dataset.id} lacks its default time attribute`);
  return found;
}
