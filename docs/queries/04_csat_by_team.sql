-- CSAT by team: ratings (1-5) received in the last 30 days, attributed to the conversation's
-- currently assigned team. CSAT = share of ratings of 4 or 5. `::numeric` reads the rating whether
-- the column is text or an integer.
SELECT
  coalesce(c.currently_assigned_team_name, '(conversation not loaded)') AS team,
  count(*) AS ratings,
  round(avg(r.conversation_rating::numeric), 2) AS avg_rating,
  round(100.0 * count(*) FILTER (WHERE r.conversation_rating::numeric >= 4) / count(*), 1) AS csat_percent
FROM conversation_ratings r
LEFT JOIN conversations c ON c.conversation_id = r.conversation_id
WHERE r.conversation_rating_updated_at >= now() - interval '30 days'
  AND r.conversation_rating IS NOT NULL
GROUP BY 1
ORDER BY ratings DESC;
