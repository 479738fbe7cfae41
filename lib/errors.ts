// The errors domain code throws: one class with a code (what went wrong, in the API's words), a message
// for people and details such as the fields at fault. The HTTP layer (lib/http/errors.ts) turns the
// code into a status and the error into the one JSON error shape.
import type * as z from 'zod';

export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'gone'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'validation_failed'
  | 'rate_limited'
  | 'internal'
  | 'unavailable';

export interface FieldIssue {
  path: string;
  message: string;
}

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const notFound = (what: string) => new AppError('not_found', `${what} not found`);
export const forbidden = (message = 'Your role does not allow this') => new AppError('forbidden', message);
export const conflict = (message: string, details?: unknown) => new AppError('conflict', message, details);

/** A 422 naming each bad field, e.g. `invalid('body.email', 'must be an email address')`. */
export function invalid(path: string, message: string): AppError {
  return new AppError('validation_failed', `${path}: ${message}`, { issues: [{ path, message }] });
}

/** Whether the input has no value at this path (a field left out, rather than one of the wrong kind). */
function absent(input: unknown, path: readonly PropertyKey[]): boolean {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return false;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value === undefined;
}

/**
 * Turns a zod error into a 422 whose message and details name every field. Given the input, a field
 * that is missing says so (`is required`), whatever message its schema gives a wrong value.
 */
export function fromZod(error: z.ZodError, where: 'body' | 'query' | 'path' | 'header' | 'payload', input?: unknown): AppError {
  const issues: FieldIssue[] = error.issues.map((i) => ({
    path: [where, ...i.path.map(String)].join('.'),
    message: input !== undefined && i.code === 'invalid_type' && i.path.length > 0 && absent(input, i.path) ? 'is required' : i.message,
  }));
  const message = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  return new AppError('validation_failed', message, { issues });
}
