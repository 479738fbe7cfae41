-- Which AI suggestion an action was made from: POST /api/actions with `source: "ai"` and the
-- suggestion's `{ key, source, model }` as POST /api/ai/suggest-actions handed it out, so AI-made tasks
-- stay recognisable and a suggestion already taken can be told apart.
alter table app.actions add column suggestion jsonb;
alter table app.actions add constraint actions_suggestion_from_ai check (suggestion is null or source = 'ai');
