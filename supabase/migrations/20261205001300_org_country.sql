-- The organization's country: where a phone number typed without its country code is read. Null
-- means the country of the organization's time zone (decided in the API).
alter table app.organizations add column country text check (country ~ '^[A-Z]{2}$');
grant update (country) on app.organizations to authenticated;
