// Reading a request or response body with a byte cap that holds whatever Content-Length claims.

/** Reads `source`'s body; throws `tooLarge()` as soon as more than maxBytes arrive (or are announced). */
export async function readCapped(source: Request | Response, maxBytes: number, tooLarge: () => Error): Promise<Buffer> {
  const declared = Number(source.headers.get('content-length') ?? '0');
  if (declared > maxBytes) throw tooLarge();
  const reader = source.body?.getReader();
  if (!reader) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
