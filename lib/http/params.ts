// Path parameters as Vercel passes them (`api/threads/[id].ts` receives `?id=`).
import * as z from 'zod';

export const idParams = z.object({ id: z.uuid('must be a uuid') });
