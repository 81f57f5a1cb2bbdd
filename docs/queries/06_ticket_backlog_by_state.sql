-- Ticket backlog now: open tickets by type and state, with their age (from the tickets table, as the
-- API last returned them; state and type names resolved).
SELECT
  ticket_type_name AS ticket_type,
  ticket_state_name AS state,
  ticket_state_category AS state_category,
  count(*) AS open_tickets,
  round(avg(extract(epoch FROM now() - created_at)) / 86400, 1) AS avg_age_days,
  min(created_at) AS oldest_created_at
FROM tickets
WHERE open
GROUP BY 1, 2, 3
ORDER BY open_tickets DESC;
