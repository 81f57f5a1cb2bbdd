import type { WorkspaceSettings } from '../options.js';
import { sendJson } from '../server/responses.js';
import type { Route } from '../server/router.js';

/** When the fake workspace was "created" (2021-01-01T00:00:00Z); fixed so `/me` is deterministic. */
const WORKSPACE_CREATED_AT = 1_609_459_200;

/**
 * `GET /me`: the token's admin with the embedded app (workspace) [2.14 L14-58, schema admin_with_app].
 * Clients read `app.id_code` as the `app_id` of the reporting endpoints.
 */
export function meResponse(workspace: WorkspaceSettings, seed: number): Record<string, unknown> {
  return {
    type: 'admin',
    id: String(991_267_459 + (Math.abs(seed) % 1000)),
    email: 'fake.admin@example.com',
    name: 'Fake Admin',
    job_title: 'Support Operations',
    away_mode_enabled: false,
    away_mode_reassign: false,
    has_inbox_seat: true,
    team_ids: [814_865],
    email_verified: true,
    app: {
      type: 'app',
      id_code: workspace.idCode,
      name: workspace.name,
      created_at: WORKSPACE_CREATED_AT,
      secure: false,
      identity_verification: false,
      timezone: workspace.timezone,
      region: workspace.region,
    },
    avatar: {
      type: 'avatar',
      image_url: 'https://static.intercomassets.com/assets/default-avatars/admins/128.png',
    },
  };
}

export function meRoutes(workspace: WorkspaceSettings, seed: number): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/me',
      produces: 'json',
      handle: ({ res }) => sendJson(res, 200, meResponse(workspace, seed)),
    },
  ];
}
