// The pure rules of lib/email/signature.ts: the From name per mailbox mode, and where signatures go
// (under the new text, above quoted history) and when they are not added again.
import { describe, expect, it } from 'vitest';
import { htmlHistoryStart, senderName, signaturesFor, withSignatures, type Signature } from '../../lib/email/signature.js';

const member: Signature = { kind: 'member', html: '<p>Vikram Rao</p>', text: 'Vikram Rao' };
const org: Signature = { kind: 'organization', html: '<p>Seahawk</p>', text: 'Seahawk' };

describe('senderName', () => {
  it('joins, picks or falls back to whichever name exists', () => {
    expect(senderName('both', 'Vikram Rao', 'Seahawk Logistics')).toBe('Vikram Rao | Seahawk Logistics');
    expect(senderName('person', 'Vikram Rao', 'Seahawk Logistics')).toBe('Vikram Rao');
    expect(senderName('organization', 'Vikram Rao', 'Seahawk Logistics')).toBe('Seahawk Logistics');
    expect(senderName('both', '  ', 'Seahawk Logistics')).toBe('Seahawk Logistics');
    expect(senderName('person', null, 'Seahawk Logistics')).toBe('Seahawk Logistics');
    expect(senderName('both', null, null)).toBeNull();
  });
});

describe('signaturesFor', () => {
  it('keeps the ones the mailbox asks for, member first', () => {
    expect(signaturesFor('both', member, org)).toEqual([member, org]);
    expect(signaturesFor('person', member, org)).toEqual([member]);
    expect(signaturesFor('organization', member, org)).toEqual([org]);
    expect(signaturesFor('none', member, org)).toEqual([]);
    expect(signaturesFor('both', null, org)).toEqual([org]);
  });
});

describe('withSignatures', () => {
  it('appends to a body without history', () => {
    expect(withSignatures({ html: '<p>Hi</p>', text: 'Hi' }, [member, org])).toEqual({
      html: '<p>Hi</p><div data-banxway-signature="member"><p>Vikram Rao</p></div><div data-banxway-signature="organization"><p>Seahawk</p></div>',
      text: 'Hi\n\n-- \nVikram Rao\n\nSeahawk',
    });
  });

  it('puts them above a Gmail-style attribution and quote', () => {
    const html =
      '<div dir="ltr">Hi</div><br><div><div dir="ltr">On Mon, 7 Dec 2026 at 10:00, Karthik &lt;k@t.example&gt; wrote:<br></div><blockquote><p>Q</p></blockquote></div>';
    const at = htmlHistoryStart(html);
    expect(html.slice(at)).toMatch(/^<div dir="ltr">On Mon/);
    const signed = withSignatures({ html, text: 'Hi\n\nOn Mon, 7 Dec 2026 at 10:00, Karthik <k@t.example> wrote:\n> Q' }, [member]);
    expect(signed.html).toBe(`${html.slice(0, at)}<div data-banxway-signature="member"><p>Vikram Rao</p></div>${html.slice(at)}`);
    expect(signed.text).toBe('Hi\n\n-- \nVikram Rao\n\nOn Mon, 7 Dec 2026 at 10:00, Karthik <k@t.example> wrote:\n> Q');
  });

  it('counts a signature in the new part, not in the quote', () => {
    const quoted = withSignatures(
      { html: '<p>Hi</p><blockquote><div data-banxway-signature="member">x</div></blockquote>', text: 'Hi\n\n> -- \n> Vikram Rao' },
      [member],
    );
    expect(quoted.html).toBe(
      '<p>Hi</p><div data-banxway-signature="member"><p>Vikram Rao</p></div><blockquote><div data-banxway-signature="member">x</div></blockquote>',
    );
    expect(quoted.text).toBe('Hi\n\n-- \nVikram Rao\n\n> -- \n> Vikram Rao');
    const own = { html: '<p>Hi</p><div data-banxway-signature="member">mine</div>', text: 'Hi\n\n-- \nVikram Rao' };
    expect(withSignatures(own, [member])).toEqual(own);
    expect(withSignatures(own, [member, org]).text).toBe('Hi\n\n-- \nVikram Rao\n\nSeahawk');
  });

  it('leaves a text-only body text-only', () => {
    expect(withSignatures({ html: null, text: 'Hi' }, [org])).toEqual({ html: null, text: 'Hi\n\n-- \nSeahawk' });
  });
});
