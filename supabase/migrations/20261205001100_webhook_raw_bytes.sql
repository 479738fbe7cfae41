-- A provider's callback exactly as it came, when it cannot be stored as text: PostgreSQL's text and
-- jsonb hold no NUL character, so an SMS or WhatsApp body carrying one failed on every retry and was
-- never stored. The message and the payload are now stored without NULs, and the exact request (body,
-- or query string of a GET callback) is kept here as bytes.
alter table app.webhook_events add column raw_bytes bytea;
