-- app.search_vector catches to_tsvector's size limit in an exception block, which opens a
-- subtransaction, and PostgreSQL (before 17) refuses one anywhere in a parallel operation, the leader
-- included ("cannot start subtransactions during a parallel operation"). Labelled parallel safe, it let
-- the planner run a search's note or document scan under a Gather on a large organization, and the
-- search failed. Parallel unsafe: a statement that calls it is never planned in parallel. The
-- functions that call it follow, since the planner trusts a function's own label.
alter function app.search_vector(text, text) parallel unsafe;
alter function app.message_search_vector(text, text, text, text, text, text) parallel unsafe;
alter function app.contact_search_vector(text, text, text, text, text) parallel unsafe;
alter function app.customer_search_vector(text, text[], text, text) parallel unsafe;
