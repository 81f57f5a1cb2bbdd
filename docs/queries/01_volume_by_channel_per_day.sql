-- Conversation volume by channel per day (UTC days; the last 30 days).
SELECT
  (conversation_started_at AT TIME ZONE 'UTC')::date AS day,
  coalesce(channel, '(none)') AS channel,
  count(*) AS conversations
FROM conversations
WHERE conversation_started_at >= now() - interval '30 days'
GROUP BY 1, 2
ORDER BY 1, 3 DESC;
