// A tag as threads, reply templates and macros store it: trimmed, lower-case, letters and digits first.
import * as z from 'zod';

export const tag = z
  .string()
  .trim()
  .toLowerCase()
  .min(1)
  .max(50)
  .regex(/^[\p{L}\p{N}][\p{L}\p{N} _./-]*$/u, 'must be letters, digits, space, _ . / -');
