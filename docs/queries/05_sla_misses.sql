-- SLA misses per day and team against targets of your own: first response within 1 hour and
-- close within 3 days (edit the two intervals). Works from the conversations alone; a workspace
-- with SLA policies also has the `sla_events` view (dataset conversation_sla_status_log) — see
-- docs/analytics.md.
WITH targets AS (
  SELECT extract(epoch FROM interval '1 hour') AS first_response_s, extract(epoch FROM interval '3 days') AS close_s
)
SELECT
  (c.conversation_started_at AT TIME ZONE 'UTC')::date AS day,
  c.currently_assigned_team_name AS team,
  count(*) AS conversations,
  count(*) FILTER (WHERE c.conversation_first_response_time_seconds > t.first_response_s) AS first_response_misses,
  count(*) FILTER (WHERE c.conversation_time_to_close_seconds > t.close_s) AS time_to_close_misses,
  round(100.0 * count(*) FILTER (WHERE c.conversation_first_response_time_seconds > t.first_response_s)
        / nullif(count(c.conversation_first_response_time_seconds), 0), 1) AS first_response_miss_percent
FROM conversations c CROSS JOIN targets t
WHERE c.conversation_started_at >= now() - interval '30 days'
GROUP BY 1, 2
ORDER BY 1, 2;
