-- Messages in the order they arrived when their dates tie. A thread is listed by the messages' own
-- date (`occurred_at`: the Date header, the provider's timestamp), which has one-second precision in
-- mail; two messages of the same second were then ordered by their random id. `arrival` numbers
-- messages as they are stored (existing ones in the order they were created), and breaks such ties.
create sequence app.messages_arrival_seq;
alter table app.messages add column arrival bigint;
update app.messages m set arrival = s.n
from (select id, row_number() over (order by created_at, occurred_at, id) as n from app.messages) s
where m.id = s.id;
select setval('app.messages_arrival_seq', coalesce((select max(arrival) from app.messages), 0) + 1, false);
alter table app.messages alter column arrival set default nextval('app.messages_arrival_seq'),
  alter column arrival set not null;
alter sequence app.messages_arrival_seq owned by app.messages.arrival;
grant usage on sequence app.messages_arrival_seq to authenticated, service_role;

create index messages_thread_order_idx on app.messages (org_id, thread_id, occurred_at, arrival);
drop index app.messages_thread_idx;
