/**
 * Many open `queue.watch` streams against one API process (issue 13's stream target): the API's RSS and
 * the database's transactions per second with none, then with N streams open while the line moves, then
 * after they closed, and `queue.status` latency (`--status-clients` keep-alive clients polling WAITING
 * tokens back to back) in each of those. Not part of `frontrow bench` (it needs the API's pid and TOKEN_SECRET):
 *
 *   DATABASE_URL=… TOKEN_SECRET=… node apps/bench/src/streams-probe.ts --url http://127.0.0.1:38517 \
 *     --pid <api pid> --streams 10000 [--seconds 10]
 *
 * The tokens are made in the database and signed with TOKEN_SECRET (as the API signs them): entering
 * 10,000 users through the API would measure `queue.enter`, not streams. The line moves by 10 places a
 * second (the probe raises the concert's maxActive; a worker must run), so every stream gets events.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { createConcert, createTokenSigner, domainSettings, noJobs, parseConfig, systemClock } from '@frontrow/core';
import { openOrm, ticketSequenceName } from '@frontrow/db';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    pid: { type: 'string' },
    streams: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '10' },
    'status-clients': { type: 'string', default: '16' },
  },
});
const url = new URL(values.url ?? 'http://127.0.0.1:3000');
const pid = Number(values.pid);
const count = Number(values.streams);
const seconds = Number(values.seconds);
const statusClients = Number(values['status-clients']);
const databaseUrl = process.env.DATABASE_URL;
const secret = process.env.TOKEN_SECRET;
if (!databaseUrl || !secret || !pid) throw new Error('DATABASE_URL, TOKEN_SECRET and --pid are required');

const orm = await openOrm({ databaseUrl, poolSize: 2 });
const sql = async <T extends object>(text: string, params: unknown[] = []) => await orm.em.getConnection().execute<T[]>(text, params);
const signer = createTokenSigner(secret);

const rssMb = () => {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return Math.round(Number(line?.[1] ?? 0) / 1024);
};
const database = (await sql<{ db: string }>('select current_database() as db'))[0]?.db;
/** Transactions of the database, and reads of single token rows by primary key (the status read). */
const counters = async () => {
  const [row] = await sql<{ n: string; token_reads: string }>(
    `select pg_stat_force_next_flush(),
            (select xact_commit + xact_rollback from pg_stat_database where datname = ?) as n,
            (select idx_scan from pg_stat_user_indexes where indexrelname = 'queue_token_pkey') as token_reads`,
    [database],
  );
  return { transactions: Number(row?.n ?? 0), tokenReads: Number(row?.token_reads ?? 0) };
};
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Database transactions and token-row reads per second over `seconds` (all clients: API, worker, this probe). */
async function rate(during?: () => Promise<void>): Promise<string> {
  const before = await counters();
  const started = Date.now();
  await (during ? during() : sleep(seconds * 1000));
  const after = await counters();
  const perSecond = (n: number) => Math.round((n / (Date.now() - started)) * 1000);
  return `database ${perSecond(after.transactions - before.transactions - 1)} transactions/s, ${perSecond(after.tokenReads - before.tokenReads)} token reads/s`;
}

const deps = { em: orm.em, clock: systemClock, jobs: noJobs, settings: domainSettings(parseConfig(process.env)) };
const { concertId } = await createConcert(deps, { title: 'streams probe', venue: 'probe', dates: ['2099-06-01'], maxActive: 1 });
const rows = await sql<{ id: string; user_id: string; ticket: string }>(
  `insert into queue_token (concert_id, user_id, ticket, status)
   select ?, gen_random_uuid(), nextval(?::regclass), 'WAITING' from generate_series(1, ?)
   returning id, user_id, ticket`,
  [concertId, ticketSequenceName(concertId), count + statusClients],
);
const signed = await Promise.all(
  rows.map((row) => signer.sign({ tokenId: String(row.id), userId: row.user_id, concertId, ticket: Number(row.ticket) })),
);

// the last `statusClients` tokens poll queue.status (behind every streaming token: WAITING throughout)
const tokens = signed.slice(0, count);
const pollers = signed.slice(count);

/** `queue.status` by `statusClients` keep-alive clients back to back for `seconds`: req/s and p99. */
async function statusLatency(): Promise<string> {
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: statusClients });
  const times: number[] = [];
  let errors = 0;
  const until = Date.now() + seconds * 1000;
  const call = (token: string) =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      const req = http.get(
        { host: url.hostname, port: url.port, path: '/trpc/queue.status', agent: keepAlive, headers: { 'x-queue-token': token } },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) times.push(performance.now() - started);
            else errors++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        resolve();
      });
    });
  await Promise.all(
    pollers.map(async (token) => {
      while (Date.now() < until) await call(token);
    }),
  );
  keepAlive.destroy();
  times.sort((a, b) => a - b);
  const p = (q: number) => (times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0).toFixed(1);
  return `queue.status ${Math.round(times.length / seconds)} req/s, p50 ${p(0.5)} ms, p99 ${p(0.99)} ms${errors ? `, ${errors} errors` : ''}`;
}

console.log(`load ${load()}; concert ${concertId}, ${count} waiting tokens (+${statusClients} polling)`);
/** The line moves by 10 places a second for `seconds` (a worker admits them). */
const moveLine = async () => {
  for (let s = 0; s < seconds; s++) {
    await sql('update concert set max_active = max_active + 10 where id = ?', [concertId]);
    await sleep(1000);
  }
};
console.log(`no stream, line still: RSS ${rssMb()} MB, ${await rate()}`);
console.log(`no stream, line still: ${await statusLatency()}`);
console.log(`no stream, line moving 10/s: RSS ${rssMb()} MB, ${await rate(moveLine)}`);

const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
let events = 0;
let refused = 0;
let open = 0;
let failed = 0;
const requests: http.ClientRequest[] = [];
const connectStarted = Date.now();
for (const token of tokens) {
  const req = http.get(
    {
      host: url.hostname,
      port: url.port,
      path: '/trpc/queue.watch',
      agent,
      headers: { 'x-queue-token': token, accept: 'text/event-stream' },
    },
    (res) => {
      open++;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        events += chunk.split('\n\n').filter((block) => block.includes('"status"')).length;
        if (chunk.includes('STREAM_LIMIT')) refused++;
      });
      res.on('error', () => undefined);
    },
  );
  req.on('error', (error) => {
    if (failed++ === 0) console.log(`  a stream failed: ${error.message}`);
  });
  requests.push(req);
  if (requests.length % 200 === 0) await sleep(100);
}
for (let waited = 0; open + failed < count; waited++) {
  if (waited % 50 === 0) console.log(`  ${open} open, ${failed} failed, RSS ${rssMb()} MB`);
  await sleep(100);
}
const connectedIn = ((Date.now() - connectStarted) / 1000).toFixed(1);
await sleep(2000);
console.log(
  `${open} streams open (${refused} refused, ${failed} failed; all answered in ${connectedIn} s), ${events} events: RSS ${rssMb()} MB`,
);
const quietRate = await rate();
console.log(`open, line still: RSS ${rssMb()} MB, ${quietRate}`);
console.log(`open, line still: ${await statusLatency()}, RSS ${rssMb()} MB`);
const eventsBefore = events;
const movingRate = await rate(moveLine);
console.log(`open, line moving 10/s: RSS ${rssMb()} MB, ${movingRate}, ${Math.round((events - eventsBefore) / seconds)} events/s received`);
for (const req of requests) req.destroy();
await sleep(5000);
console.log(`closed: RSS ${rssMb()} MB (5 s after), load ${load()}`);
console.log(`closed: ${await statusLatency()}, RSS ${rssMb()} MB`);
await sql(`update queue_token set status = 'CANCELLED' where concert_id = ? and status in ('WAITING', 'ACTIVE')`, [concertId]);
await orm.close(true);
