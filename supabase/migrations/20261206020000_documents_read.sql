-- Documents read, classified and filed (issue 20): the types forwarders meet that were missing, where a
-- document came from, its reading (text per page, by text layer or OCR), the fields found in it with
-- page, source text and confidence, the agents' corrections, its freight identifiers (canonical, as on
-- messages and shipments) and the shipment it names but nobody has created yet.

alter table app.documents drop constraint documents_type_check;
alter table app.documents add constraint documents_type_check check (type in ('commercial_invoice', 'packing_list',
  'bill_of_lading', 'house_bill_of_lading', 'seaway_bill', 'booking_confirmation', 'air_waybill', 'shipping_bill',
  'bill_of_entry', 'certificate_of_origin', 'delivery_order', 'arrival_notice', 'quote', 'other'));

alter table app.documents
  add column message_id uuid,
  -- upload: a member's file (POST /api/documents); email / whatsapp: an inbound attachment.
  add column source text not null default 'upload' check (source in ('upload', 'email', 'whatsapp')),
  -- The reading job's state: pending (queued), done, failed (read_error says why).
  add column read_status text not null default 'pending' check (read_status in ('pending', 'done', 'failed')),
  add column read_error text check (read_error is null or length(read_error) <= 2000),
  add column read_at timestamptz,
  -- text: the PDF's own text layer; ocr: rasterised (or an image) and recognised; mixed: some of each.
  add column text_method text check (text_method is null or text_method in ('text', 'ocr', 'mixed')),
  add column page_count integer check (page_count is null or page_count >= 0),
  -- [{ "page": 1, "text": "...", "method": "text" | "ocr", "confidence": 0..1 | null }]
  add column pages jsonb not null default '[]'::jsonb,
  -- How the type was decided: rules (offline), llm, agent (a correction).
  add column type_source text not null default 'rules' check (type_source in ('rules', 'llm', 'agent')),
  add column type_confidence real check (type_confidence is null or type_confidence between 0 and 1),
  -- { "<field>": { "value", "page", "source", "confidence", "origin": rules|llm|agent, "corrected"?, "previous"? } }
  add column fields jsonb not null default '{}'::jsonb,
  -- [{ "field", "from", "to", "by", "at" }]: every correction an agent made, oldest first.
  add column corrections jsonb not null default '[]'::jsonb,
  -- Which reader produced the fields: 'rules' or 'llm:<model>'.
  add column extracted_by text,
  add column identifiers text[] not null default '{}',
  -- A shipment the document describes when none of the organization's shipments carries its identifiers.
  add column suggested_shipment jsonb,
  add constraint documents_id_unique unique (org_id, id),
  add constraint documents_message_fk foreign key (org_id, message_id) references app.messages (org_id, id) on delete set null (message_id);

-- One document per attachment: a retried or duplicated ingest files nothing twice.
create unique index documents_attachment_idx on app.documents (org_id, attachment_id) where attachment_id is not null;
create index documents_list_idx on app.documents (org_id, created_at desc, id desc);
create index documents_thread_idx on app.documents (org_id, thread_id, created_at desc) where thread_id is not null;
create index documents_identifiers_idx on app.documents using gin (identifiers);
