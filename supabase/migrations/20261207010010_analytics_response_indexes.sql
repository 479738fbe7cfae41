-- Analytics: the responses of one customer (GET /api/analytics/customers, the busiest customers' response
-- times) and of one member (GET /api/analytics/agents) in a range, read by index only, each group's
-- rows on their own instead of sorting a quarter's responses by customer or member first.
create index message_responses_customer_at_idx on app.message_responses (org_id, customer_id, at)
  include (wall_ms, channel, channel_id, team_id) where customer_id is not null;
create index message_responses_responder_at_idx on app.message_responses (org_id, responder_id, at)
  include (first, wall_ms, business_ms, channel, channel_id, team_id, customer_id) where responder_id is not null;
