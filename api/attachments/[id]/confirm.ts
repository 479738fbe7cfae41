import { confirmUpload } from '../../../lib/attachments/service.js';
import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/attachments/{id}/confirm – after the PUT: check size and type, record the SHA-256, mark ready
export const POST = route({ action: 'threads.write', params: idParams }, ({ ctx, params }) => confirmUpload(ctx, params.id));
