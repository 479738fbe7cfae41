// A local server speaking Upstash Redis's REST protocol in front of a real Redis: POST / with a JSON
// command array, /pipeline and /multi-exec with arrays of them, Bearer auth, and the base64 response
// encoding the official client asks for with `Upstash-Encoding: base64`.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from 'redis';

type Result = { result: unknown } | { error: string };

function encode(value: unknown): unknown {
  if (typeof value === 'string') return value === 'OK' ? value : Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(encode);
  return value;
}

export async function fakeUpstashRedis(redisUrl: string, token = 'upstash-test-token') {
  const redis = createClient({ url: redisUrl });
  await redis.connect();
  const prefix = `test:${process.pid}:${Date.now()}:`;
  const commands: string[][] = [];
  // Upstash accepts the `allow-key-locking` shebang flag that @upstash/ratelimit's scripts carry; a
  // stock Redis 7.0 does not, so scripts are stored without it and EVALSHA is mapped accordingly.
  const shaMap = new Map<string, string>();
  const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
  const run = async (cmd: unknown[]): Promise<Result> => {
    const args = cmd.map(String);
    commands.push([...args]);
    const name = args[0]?.toUpperCase();
    if ((name === 'EVAL' || name === 'SCRIPT') && args.length > 1) {
      const i = name === 'EVAL' ? 1 : 2;
      const original = args[i]!;
      const stripped = original.replace(/^#!lua flags=allow-key-locking\n/, '#!lua\n');
      shaMap.set(sha1(original), sha1(stripped));
      args[i] = stripped;
    } else if (name === 'EVALSHA' && shaMap.has(args[1]!.toLowerCase())) {
      args[1] = shaMap.get(args[1]!.toLowerCase())!;
    }
    try {
      return { result: await redis.sendCommand(args) };
    } catch (error) {
      return { error: (error as Error).message };
    }
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    // Answers from an async function: a rejection would leave the request hanging, so it answers 500.
    req.on('end', () => {
      void (async () => {
        if (req.headers.authorization !== `Bearer ${token}`) {
          res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'Unauthorized' }));
          return;
        }
        const base64 = req.headers['upstash-encoding'] === 'base64';
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '[]') as unknown[];
        const finish = (r: Result) => ('result' in r && base64 ? { result: encode(r.result) } : r);
        let out: unknown;
        if (req.url === '/pipeline' || req.url === '/multi-exec') {
          out = [];
          for (const c of body as unknown[][]) (out as Result[]).push(finish(await run(c)));
        } else {
          const r = await run(body);
          if ('error' in r) {
            res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify(r));
            return;
          }
          out = finish(r);
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
      })().catch((error: unknown) => res.writeHead(500).end(String(error)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    prefix,
    commands,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await redis.quit();
    },
  };
}
