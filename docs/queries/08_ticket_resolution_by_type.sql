-- Ticket resolution time by ticket type, in days (tickets created in the last 90 days, from the
-- tickets dataset; the type name resolved through the tickets and ticket_types tables).
SELECT
  ticket_type_name AS ticket_type,
  count(*) AS tickets,
  count(ticket_time_to_resolve_seconds) AS resolved,
  round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ticket_time_to_resolve_seconds) / 86400)::numeric, 1) AS median_days_to_resolve,
  round((percentile_cont(0.9) WITHIN GROUP (ORDER BY ticket_time_to_resolve_seconds) / 86400)::numeric, 1) AS p90_days_to_resolve
FROM ticket_reports
WHERE ticket_created_at >= now() - interval '90 days'
GROUP BY 1
ORDER BY tickets DESC;
