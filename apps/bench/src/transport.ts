/**
 * The bench's HTTP: a `fetch` for the tRPC client over `node:http` with keep-alive sockets, and the same
 * path for the `/healthz` ceiling, so both sides of every ratio pay the same client cost. Node's global
 * fetch (undici + web streams) costs the client several times more CPU per call, and on a 2-core machine
 * the client shares the cores with the server it measures.
 */
import http from 'node:http';

export type BenchResponse = { ok: boolean; status: number; json(): Promise<unknown>; text: string };

export type BenchFetch = (
  input: string | URL | { url: string },
  init?: { method?: string; body?: unknown; headers?: unknown; signal?: unknown },
) => Promise<BenchResponse>;

export type Transport = {
  /** The server's origin, e.g. `http://127.0.0.1:3000`. */
  origin: string;
  fetch: BenchFetch;
  /** GET a plain path (e.g. `/healthz`); resolves with the status code once the body is read. */
  get(path: string): Promise<number>;
  close(): void;
};

export function createTransport(url: string, sockets: number): Transport {
  const base = new URL(url);
  if (base.protocol !== 'http:') throw new Error(`--url must be an http:// URL (got ${base.protocol})`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  const hostname = base.hostname.replace(/^\[|\]$/g, '');
  const port = base.port === '' ? 80 : Number(base.port);

  function request(path: string, method: string, headers: Record<string, string>, body: string | undefined): Promise<BenchResponse> {
    return new Promise((resolve, reject) => {
      const req = http.request({ agent, hostname, port, path, method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = chunks.length === 1 ? (chunks[0]?.toString('utf8') ?? '') : Buffer.concat(chunks).toString('utf8');
          resolve({ ok: status >= 200 && status < 300, status, text, json: async () => JSON.parse(text) });
        });
      });
      req.on('error', reject);
      if (body !== undefined) req.setHeader('content-length', Buffer.byteLength(body));
      req.end(body);
    });
  }

  return {
    origin: base.origin,
    fetch: async (input, init = {}) => {
      const target = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      const path = target.startsWith(base.origin) ? target.slice(base.origin.length) : new URL(target).pathname + new URL(target).search;
      const headers = headerRecord(init.headers);
      const body = typeof init.body === 'string' ? init.body : undefined;
      return await request(path, init.method ?? 'GET', headers, body);
    },
    get: async (path) => (await request(path, 'GET', {}, undefined)).status,
    close: () => agent.destroy(),
  };
}

function headerRecord(headers: unknown): Record<string, string> {
  if (headers === undefined || headers === null) return {};
  if (headers instanceof Headers) return Object.fromEntries(headers.entries());
  if (Array.isArray(headers)) return Object.fromEntries(headers.map((pair) => [String(pair[0]), String(pair[1])]));
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, String(value)]));
}
