// Rendering reply templates: Mustache (mustache.js, logic-less: variables and sections, no code) held
// to what a template may reach. Before anything renders, every tag is checked against the variables
// the template is given (lib/templates/variables.ts): a name outside them (`{{contact.constructor}}`,
// a typo, `{{shipment.containers}}` before shipments exist) is an error, never rendered as braces or
// as nothing. Partials, delimiter changes and unescaped tags are refused; the values are plain
// null-prototype objects, arrays and strings (no functions, so no lambdas; no prototype to walk).
// HTML templates escape every value; member.signature, sanitised HTML, is inserted as HTML.
import Mustache from 'mustache';

/** What a variable holds: text, sanitised HTML (a signature), a group of variables, or a list. */
export type VariableSchema =
  { kind: 'text' } | { kind: 'html' } | { kind: 'object'; fields: Record<string, VariableSchema> } | { kind: 'list'; item: VariableSchema };

export type Scalar = string | null;
/** Variable values: built by lib/templates/variables.ts with null prototypes (see view()). */
export type Values = { [key: string]: Value };
export type Value = Scalar | Values | Value[] | Html;

/** Sanitised HTML (a signature) with its plain text, for text channels. */
export class Html {
  constructor(
    readonly html: string,
    readonly text: string,
  ) {}
}

export interface TemplateIssue {
  /** `subject` or `body`. */
  part: 'subject' | 'body';
  message: string;
}

export class TemplateError extends Error {
  constructor(readonly issues: TemplateIssue[]) {
    super(issues.map((i) => `${i.part}: ${i.message}`).join('; '));
    this.name = 'TemplateError';
  }
}

const NAME = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$/;
const TAGS: [string, string] = ['{{', '}}'];

// mustache's token: [type, value, start, end, children?, closing index?]
type Token = [string, string, number, number, Token[]?, number?];

interface Scope {
  schema: VariableSchema;
  value: Value | undefined;
}

/** A name resolved as mustache resolves it: the innermost scope that has its first part. */
function resolve(name: string, scopes: Scope[]): Scope | undefined {
  if (name === '.') {
    const top = scopes[scopes.length - 1]!;
    return top.schema.kind === 'text' ? top : undefined;
  }
  const [first, ...rest] = name.split('.');
  for (let i = scopes.length - 1; i >= 0; i--) {
    const scope = scopes[i]!;
    if (scope.schema.kind !== 'object' || !Object.hasOwn(scope.schema.fields, first!)) continue;
    let schema: VariableSchema = scope.schema.fields[first!]!;
    let value = scope.value === undefined || scope.value === null ? undefined : (scope.value as Values)[first!];
    for (const part of rest) {
      if (schema.kind !== 'object' || !Object.hasOwn(schema.fields, part)) return undefined;
      schema = schema.fields[part]!;
      value = value === undefined || value === null ? undefined : (value as Values)[part];
    }
    return { schema, value };
  }
  return undefined;
}

const empty = (v: Value | undefined) => v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);

export interface Analysis {
  issues: TemplateIssue[];
  /** Variables the rendered text would show empty, with the values given (none given: every value is unknown yet). */
  missing: string[];
}

/**
 * Checks a template against the variables (and, given values, finds those that would render empty). A
 * value tag inside a section counts as missing only when the section renders: a section is how a
 * template says "only when there is one".
 */
export function analyze(template: string, part: TemplateIssue['part'], schema: VariableSchema, values?: Values): Analysis {
  const issues: TemplateIssue[] = [];
  const missing = new Set<string>();
  let tokens: Token[];
  try {
    // A writer of its own, as renderChecked: mustache's default one caches every template it parses.
    tokens = new Mustache.Writer().parse(template, TAGS) as unknown as Token[];
  } catch (error) {
    return { issues: [{ part, message: `is not a valid template: ${(error as Error).message}` }], missing: [] };
  }
  const walk = (list: Token[], scopes: Scope[], rendered: boolean) => {
    for (const token of list) {
      const [type, name] = token;
      if (type === 'text' || type === '!') continue;
      if (type === '>') {
        issues.push({ part, message: `{{> ${name}}}: partials are not available in reply templates` });
        continue;
      }
      if (type === '=') {
        issues.push({ part, message: 'changing the {{ }} delimiters is not allowed' });
        continue;
      }
      if (type === '&' || type === '{') {
        issues.push({
          part,
          message: `{{{${name}}}}: unescaped values are not allowed (HTML mail escapes every value; member.signature is inserted as HTML by itself)`,
        });
        continue;
      }
      if (name !== '.' && !NAME.test(name)) {
        issues.push({ part, message: `{{${type === 'name' ? '' : type}${name}}}: is not a variable name (letters, digits and _, parts joined by dots)` });
        continue;
      }
      const found = resolve(name, scopes);
      if (!found) {
        issues.push({ part, message: `{{${name}}} is not a variable this template can use` });
        continue;
      }
      if (type === 'name') {
        if (found.schema.kind === 'object' || found.schema.kind === 'list') {
          issues.push({ part, message: `{{${name}}} is a group of variables: name one of its fields, or use it as a section {{#${name}}}…{{/${name}}}` });
        } else if (values && rendered && empty(found.value)) missing.add(name === '.' ? 'the current item' : name);
        continue;
      }
      const children = token[4] ?? [];
      if (type === '#') {
        const present = !empty(found.value);
        if (found.schema.kind === 'list') {
          const items = Array.isArray(found.value) ? found.value : [];
          if (items.length === 0) walk(children, [...scopes, { schema: found.schema.item, value: undefined }], false);
          for (const item of items) walk(children, [...scopes, { schema: found.schema.item, value: item }], rendered);
        } else {
          walk(children, [...scopes, found], rendered && (values === undefined || present));
        }
      } else if (type === '^') {
        walk(children, scopes, rendered && (values === undefined || empty(found.value)));
      }
    }
  };
  walk(tokens, [{ schema, value: values }], true);
  // A list section is walked once per item: each issue once.
  const unique = [...new Map(issues.map((i) => [i.message, i])).values()];
  return { issues: unique, missing: [...missing] };
}

const escapeHtml = (value: unknown) => String(value).replace(/[&<>"'`=/]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A signature in an HTML view: a null-prototype object whose only key is a symbol. mustache looks a name
 * up in every object of its context stack (`'name' in view`), and a section over the signature makes it
 * one: with no string key and no prototype, no name (`{{html}}`, `{{constructor}}`) is ever found in it,
 * and the lookup goes on to the variables the analysis checked.
 */
const SIGNATURE_HTML = Symbol('signature html');
type HtmlView = { [SIGNATURE_HTML]: string };
const isHtmlView = (v: unknown): v is HtmlView => typeof v === 'object' && v !== null && SIGNATURE_HTML in v;

function htmlView(value: Html): HtmlView {
  const out = Object.create(null) as HtmlView;
  out[SIGNATURE_HTML] = value.html;
  return Object.freeze(out);
}

/** The values as mustache reads them: null-prototype objects throughout, signatures as HTML or text. */
function view(value: Value | undefined, html: boolean): unknown {
  if (value === undefined || value === null) return null;
  if (value instanceof Html) return html ? htmlView(value) : value.text;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map((v) => view(v, html));
  const out = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(value)) out[key] = view(value[key], html);
  return out;
}

/**
 * Renders a template the analysis accepted. `html`: values are HTML-escaped and signatures inserted as
 * their HTML; otherwise values go in as they are (plain text: WhatsApp, SMS, text mail, subjects).
 */
export function renderChecked(template: string, values: Values, html: boolean): string {
  // A writer of its own: no cache shared across organizations, no partials (a null-prototype object).
  const writer = new Mustache.Writer();
  const partials = Object.create(null) as Record<string, string>;
  const escape = html ? (v: unknown) => (isHtmlView(v) ? v[SIGNATURE_HTML] : escapeHtml(v)) : (v: unknown) => String(v);
  return writer.render(template, view(values, html), partials, { tags: TAGS, escape });
}

export interface RenderInput {
  subject: string | null;
  body: string;
  format: 'text' | 'html';
}

export interface Rendered {
  subject: string | null;
  text: string | null;
  html: string | null;
  /** Variables with no value for this thread (and not given): the rendered text would show them empty. */
  missing: string[];
}

/** Checks and renders a template's subject and body; unknown variables throw a TemplateError. */
export function renderTemplate(input: RenderInput, schema: VariableSchema, values: Values): Rendered {
  const body = analyze(input.body, 'body', schema, values);
  const subject = input.subject ? analyze(input.subject, 'subject', schema, values) : { issues: [], missing: [] };
  const issues = [...subject.issues, ...body.issues];
  if (issues.length) throw new TemplateError(issues);
  const html = input.format === 'html';
  const renderedBody = renderChecked(input.body, values, html);
  return {
    subject: input.subject ? renderChecked(input.subject, values, false).replace(/\s+/g, ' ').trim() : null,
    text: html ? null : renderedBody,
    html: html ? renderedBody : null,
    missing: [...new Set([...subject.missing, ...body.missing])],
  };
}
