-- Workflows may start on a shipment's ETA change (`shipment.eta_changed`, once per linked thread, as
-- `shipment.milestone` does): the trigger is added to the allowed list.
alter table app.workflows drop constraint workflows_trigger_check;
alter table app.workflows add constraint workflows_trigger_check check (trigger_event in (
  'message.received', 'message.sent', 'thread.created', 'thread.updated', 'note.created', 'sla.warning', 'sla.breached',
  'action.overdue', 'shipment.milestone', 'shipment.eta_changed', 'schedule'));
