-- First response time percentiles per day, in minutes (conversations that got a first response).
SELECT
  (conversation_started_at AT TIME ZONE 'UTC')::date AS day,
  count(conversation_first_response_time_seconds) AS responded,
  round((percentile_cont(0.5) WITHIN GROUP (ORDER BY conversation_first_response_time_seconds) / 60)::numeric, 1) AS p50_minutes,
  round((percentile_cont(0.9) WITHIN GROUP (ORDER BY conversation_first_response_time_seconds) / 60)::numeric, 1) AS p90_minutes,
  round((percentile_cont(0.99) WITHIN GROUP (ORDER BY conversation_first_response_time_seconds) / 60)::numeric, 1) AS p99_minutes
FROM conversations
WHERE conversation_started_at >= now() - interval '30 days'
  AND conversation_first_response_time_seconds IS NOT NULL
GROUP BY 1
ORDER BY 1;
