-- Companies with the most conversations in the last 30 days, with their plan and the share of
-- conversations that led to a ticket.
SELECT
  c.company_intercom_id,
  c.company_id,
  co.name AS company,
  co.plan_name,
  count(*) AS conversations,
  count(c.ticket_id) AS with_ticket,
  round(avg(c.conversation_first_response_time_seconds) / 60, 1) AS avg_first_response_minutes
FROM conversations c
JOIN companies co ON co.company_intercom_id = c.company_intercom_id
WHERE c.conversation_started_at >= now() - interval '30 days'
GROUP BY 1, 2, 3, 4
ORDER BY conversations DESC
LIMIT 20;
