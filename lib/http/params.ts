// Path parameters as Vercel passes them (`api/threads/[id].ts` receives `?id=`).
import { z } from 'zod';

export const idParams = z.object({ id: z.uuid('must be a uuid') });
