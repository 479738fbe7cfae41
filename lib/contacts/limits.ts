// What a contact holds, shared by the contacts API and the inbound paths that make contacts from
// message headers (which may say far more).

/** The longest email address a contact has: RFC 5321 allows 254 characters, display forms a little more. */
export const CONTACT_EMAIL_MAX = 320;
/** The longest contact name (the table's check). */
export const CONTACT_NAME_MAX = 300;

/** A name from a message header as a contact's name: cut to what a contact holds. */
export function contactName(name: string | null | undefined): string {
  return (name ?? '').slice(0, CONTACT_NAME_MAX).trim();
}
