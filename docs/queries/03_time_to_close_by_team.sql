-- Time to close by the team currently assigned, in hours (closed conversations, the last 30 days).
SELECT
  currently_assigned_team_name AS team,
  count(conversation_time_to_close_seconds) AS closed,
  round(avg(conversation_time_to_close_seconds) / 3600, 1) AS avg_hours,
  round((percentile_cont(0.5) WITHIN GROUP (ORDER BY conversation_time_to_close_seconds) / 3600)::numeric, 1) AS median_hours,
  round((percentile_cont(0.9) WITHIN GROUP (ORDER BY conversation_time_to_close_seconds) / 3600)::numeric, 1) AS p90_hours
FROM conversations
WHERE conversation_started_at >= now() - interval '30 days'
  AND conversation_time_to_close_seconds IS NOT NULL
GROUP BY 1
ORDER BY closed DESC;
