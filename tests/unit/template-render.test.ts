// Reply-template rendering (lib/templates/render.ts): HTML escaping, missing values, unknown variables
// and templates that try to reach past the variables they are given.
import { describe, expect, it } from 'vitest';
import { analyze, Html, renderTemplate, TemplateError, type Values } from '../../lib/templates/render.js';
import { templateSchema } from '../../lib/templates/variables.js';

const schema = templateSchema(['eta']);

function values(overrides: Partial<Record<string, unknown>> = {}): Values {
  const v = {
    thread: { id: 't1', subject: 'Booking 4521', status: 'open', priority: 'high', channel: 'email', reference: 'BX-1', tags: ['booking', 'sea'] },
    customer: { name: 'Tata <Motors> & Co', kind: 'shipper', tier: 'key', city: null, country: 'IN' },
    contact: { name: 'Karthik Iyer', firstName: 'Karthik', lastName: 'Iyer', email: 'k@example.com', phone: null, whatsapp: null, designation: null },
    member: {
      name: 'Vikram Rao',
      firstName: 'Vikram',
      email: null,
      phone: null,
      jobTitle: null,
      signature: new Html('<p>Vikram <b>Rao</b></p>', 'Vikram Rao'),
    },
    organization: { name: 'Seahawk', signature: null },
    eta: null,
    ...overrides,
  };
  return v as unknown as Values;
}

const render = (body: string, format: 'text' | 'html' = 'text', v = values(), subject: string | null = null) =>
  renderTemplate({ body, subject, format }, schema, v);

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof TemplateError) return error.issues.map((i) => i.message);
    throw error;
  }
  throw new Error('expected a TemplateError');
}

describe('reply template rendering', () => {
  it('fills variables and sections, and lists nothing missing when every value is there', () => {
    const r = render('Dear {{contact.firstName}}, {{#thread.tags}}[{{.}}]{{/thread.tags}} for {{customer.name}}', 'text', values(), 'Re: {{thread.subject}}');
    expect(r.text).toBe('Dear Karthik, [booking][sea] for Tata <Motors> & Co');
    expect(r.subject).toBe('Re: Booking 4521');
    expect(r.html).toBeNull();
    expect(r.missing).toEqual([]);
  });

  it('escapes every value in HTML mail, and inserts the member signature as its sanitised HTML', () => {
    const v = values({
      contact: {
        name: '<script>alert(1)</script>',
        firstName: '<img src=x onerror=alert(1)>',
        lastName: null,
        email: null,
        phone: null,
        whatsapp: null,
        designation: null,
      },
    });
    const r = render('<p>Dear {{contact.firstName}} of {{customer.name}}</p>{{member.signature}}', 'html', v);
    expect(r.html).toBe('<p>Dear &#60;img src&#61;x onerror&#61;alert(1)&#62; of Tata &#60;Motors&#62; &#38; Co</p><p>Vikram <b>Rao</b></p>');
    expect(r.html).not.toContain('<img');
    // In text, the same values go in as they are, and the signature as its text.
    expect(render('{{customer.name}} / {{member.signature}}').text).toBe('Tata <Motors> & Co / Vikram Rao');
  });

  it('lists the variables without a value, but not those inside a section that does not render', () => {
    const r = render(
      'ETA {{eta}}; {{#contact.phone}}call {{contact.phone}}{{/contact.phone}}{{^contact.phone}}no phone{{/contact.phone}} {{organization.signature}}',
    );
    expect(r.missing.sort()).toEqual(['eta', 'organization.signature']);
    expect(r.text).toBe('ETA ; no phone ');
    // A thread without a contact: every contact variable is missing, none shows braces.
    const none = render('Dear {{contact.firstName}}', 'text', values({ contact: null }));
    expect(none.missing).toEqual(['contact.firstName']);
    expect(none.text).toBe('Dear ');
  });

  it('refuses unknown variables (a typo, a field a group does not have) instead of rendering braces or nothing', () => {
    expect(issuesOf(() => render('Dear {{contact.frstName}}'))).toEqual(['{{contact.frstName}} is not a variable this template can use']);
    expect(issuesOf(() => render('{{shipment.container}}'))).toEqual(['{{shipment.container}} is not a variable this template can use']);
    expect(issuesOf(() => render('{{#thread.tags}}{{nope}}{{/thread.tags}}'))).toEqual(['{{nope}} is not a variable this template can use']);
    expect(issuesOf(() => render('{{contact}}'))[0]).toMatch(/is a group of variables/);
    expect(issuesOf(() => render('Dear {{contact.firstName}', 'text'))[0]).toMatch(/is not a valid template/);
  });

  it('gives a template no way out of its variables: prototypes, lambdas, partials, delimiters, raw HTML', () => {
    const attempts = [
      '{{constructor}}',
      '{{contact.constructor.name}}',
      '{{contact.__proto__}}',
      '{{#contact}}{{constructor.constructor}}{{/contact}}',
      '{{contact.firstName.length}}',
      '{{thread.tags.length}}',
      '{{#member.signature}}{{html}}{{/member.signature}}',
      '{{> /etc/passwd}}',
      '{{=<% %>=}}<% contact.firstName %>',
      '{{{contact.firstName}}}',
      '{{&contact.firstName}}',
      '{{ toString }}',
      '{{#thread.tags}}{{.length}}{{/thread.tags}}',
    ];
    for (const body of attempts) {
      expect(issuesOf(() => render(body, 'html')).length, body).toBeGreaterThan(0);
    }
    // A section over the signature (or any value) is no way in either, even when the template declares
    // the names a signature object or a prototype would answer: the lookup finds the declared values.
    const own = templateSchema(['constructor', 'toString', 'html', 'text', 'valueOf']);
    const mine = values({ constructor: 'C', toString: 'S', html: 'H', text: 'T', valueOf: 'V' });
    for (const format of ['html', 'text'] as const) {
      const r = renderTemplate(
        {
          body: '{{#member.signature}}[{{constructor}}|{{toString}}|{{html}}|{{text}}|{{valueOf}}]{{/member.signature}}{{#contact.firstName}}<{{toString}}>{{/contact.firstName}}',
          subject: null,
          format,
        },
        own,
        mine,
      );
      expect(r.html ?? r.text, format).toBe('[C|S|H|T|V]<S>');
    }
    // And without such values, the names stay unknown rather than reaching into the signature.
    expect(issuesOf(() => render('{{#member.signature}}{{html}}{{text}}{{/member.signature}}', 'html'))).toHaveLength(2);
    // Values that look like tags stay text: they are never parsed again.
    const r = render(
      '{{contact.firstName}}',
      'text',
      values({ contact: { name: null, firstName: '{{constructor}}', lastName: null, email: null, phone: null, whatsapp: null, designation: null } }),
    );
    expect(r.text).toBe('{{constructor}}');
  });

  it('checks a template without values (at save) for unknown names only', () => {
    expect(analyze('{{eta}} {{contact.firstName}}', 'body', schema)).toEqual({ issues: [], missing: [] });
    expect(analyze('{{vessel}}', 'body', schema).issues).toEqual([{ part: 'body', message: '{{vessel}} is not a variable this template can use' }]);
  });
});
