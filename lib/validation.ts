// Shared zod settings. zod 4 runs an object's refinements even after one of its fields failed, with
// the raw input in that field (a string where a Date was expected: `getTime is not a function`, a
// 500). Cross-field checks therefore run only when every field parsed; the field errors answer first.
import type * as z from 'zod';

export const whenFieldsValid = { when: (payload: z.core.ParsePayload) => payload.issues.length === 0 };
