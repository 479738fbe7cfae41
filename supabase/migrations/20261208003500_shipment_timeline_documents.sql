-- The shipment timeline lists documents too (lib/shipments/timeline.ts): those filed on the shipment,
-- newest first through this index, and those of its linked threads through documents_thread_idx.
create index documents_shipment_created_idx on app.documents (org_id, shipment_id, created_at desc, id desc) where shipment_id is not null;
