import { sendError, sendJson } from '../server/responses.js';
import type { FakeRequest, Route } from '../server/router.js';
import type { ScrollSessions } from './scroll-sessions.js';

/** Intercom's documented answer when a scroll breaks; the client must start again [2.14 L3974-3986]. */
export const SCROLL_SERVER_ERROR_MESSAGE = 'Request failed due to an internal network error. Please restart the scroll operation.';
/** Observed code and wording (airbyte #8395, #70888); older wording said "…for this app". */
export const SCROLL_EXISTS_MESSAGE = 'scroll already exists for this workspace';
/** ASSUMPTION: only the code `not_found` is observed for an expired/ended scroll, not the message. */
export const SCROLL_NOT_FOUND_MESSAGE = 'Scroll parameter not found or expired';

/** `GET /companies/scroll` [2.14 L3954-4034]: `pages` and `total_count` are always null. */
export function scrollRoutes(scrolls: ScrollSessions): Route[] {
  return [{ method: 'GET', pattern: '/companies/scroll', produces: 'json', handle: (req) => scroll(scrolls, req) }];
}

async function scroll(scrolls: ScrollSessions, req: FakeRequest): Promise<void> {
  const param = req.query.get('scroll_param');
  await scrolls.gate(param);
  const outcome = param === null || param === '' ? scrolls.start() : scrolls.next(param);
  switch (outcome.kind) {
    case 'page':
      sendJson(req.res, 200, { type: 'list', data: outcome.data, pages: null, total_count: null, scroll_param: outcome.scrollParam });
      return;
    case 'scroll_exists':
      sendError(req.res, 400, 'scroll_exists', SCROLL_EXISTS_MESSAGE);
      return;
    case 'not_found':
      sendError(req.res, 404, 'not_found', SCROLL_NOT_FOUND_MESSAGE);
      return;
    case 'server_error':
      sendError(req.res, 500, 'server_error', SCROLL_SERVER_ERROR_MESSAGE);
      return;
  }
}
