// The values a request gives a reply template (`variables` of a reply, a preview or a macro's reply
// step): a module of its own, so the routes that take them load no template engine until one is used.
import * as z from 'zod';

export const templateVariables = z.record(z.string().max(100), z.string().max(2000)).refine((v) => Object.keys(v).length <= 50, 'must give at most 50 values');
