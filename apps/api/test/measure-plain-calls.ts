/**
 * A quick measure of the plain routes (plain-calls.ts), not a test: one process, two servers on one fresh
 * database, `plain` (plain routes on) and `trpc` (off), loaded one at a time by autocannon, alternating,
 * with this process's CPU time per answered request. Two calls of a flash crowd: a refused
 * `reservations.hold` (a taken seat) and a `queue.enter` replay (a user already in line).
 *
 *   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
 *     node apps/api/test/measure-plain-calls.ts /path/to/autocannon [rounds] [seconds] [connections]
 *
 * The servers have no EnterBatcher and no admission memory (testInnerContext): the figures compare the
 * transport, not a production process's whole cost.
 */
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { createConcert } from '@frontrow/core';
import { ticketSequenceName } from '@frontrow/db';
import { createTestDatabase } from '@frontrow/db/testing';
import { buildServer } from '../src/server.ts';
import { signIn, testInnerContext } from '../src/testing.ts';

const [autocannon, rounds = '3', seconds = '5', connections = '32'] = process.argv.slice(2);
if (!autocannon || !process.env.TEST_DATABASE_URL)
  throw new Error('usage: TEST_DATABASE_URL=… node measure-plain-calls.ts <autocannon> [rounds] [seconds] [connections]');
const PORTS = { plain: 28941, trpc: 28942 } as const;
const DATE = '2030-12-24';

const db = await createTestDatabase(process.env.TEST_DATABASE_URL, { poolSize: 10 });
const inner = testInnerContext(db.orm);
const servers = {
  plain: await buildServer({ orm: db.orm, inner }),
  trpc: await buildServer({ orm: db.orm, inner, plainCalls: false }),
};
await servers.plain.listen({ port: PORTS.plain, host: '127.0.0.1' });
await servers.trpc.listen({ port: PORTS.trpc, host: '127.0.0.1' });
try {
  const { concertId } = await createConcert(inner, { title: 'Measure', venue: 'Hall', dates: [DATE], price: 1_000 });
  const admitted = async () => {
    const { authorization, userId } = await signIn();
    const [row] = await db.orm.em.getConnection().execute<{ id: string; ticket: string }[]>(
      `insert into queue_token (concert_id, user_id, ticket, status, activated_at, active_until)
       values (?, ?, nextval('${ticketSequenceName(concertId)}'), 'ACTIVE', now(), now() + interval '1 hour') returning id, ticket`,
      [concertId, userId],
    );
    if (!row) throw new Error('no token');
    const queueToken = await inner.tokens.sign({ tokenId: String(row.id), userId, concertId, ticket: Number(row.ticket) });
    return { authorization, 'x-queue-token': queueToken };
  };
  const holder = await admitted();
  const refused = await admitted();
  const json = { 'content-type': 'application/json' };
  const held = await servers.trpc.inject({
    method: 'POST',
    url: '/trpc/reservations.hold',
    headers: { ...holder, ...json },
    payload: { concertId, date: DATE, seatNumbers: [1] },
  });
  if (held.statusCode !== 200) throw new Error(`hold: ${held.body}`);
  const user = await signIn();
  const entered = await servers.trpc.inject({
    method: 'POST',
    url: '/trpc/queue.enter',
    headers: { authorization: user.authorization, ...json },
    payload: { concertId },
  });
  if (entered.statusCode !== 200) throw new Error(`enter: ${entered.body}`);
  const calls = {
    'reservations.hold (SEAT_UNAVAILABLE)': {
      path: 'reservations.hold',
      headers: { ...refused, ...json },
      body: { concertId, date: DATE, seatNumbers: [1] },
      status: 409,
    },
    'queue.enter (a replay)': {
      path: 'queue.enter',
      headers: { authorization: user.authorization, ...json },
      body: { concertId },
      status: 200,
    },
  };
  const run = async (name: keyof typeof servers, call: (typeof calls)[keyof typeof calls], duration: string) => {
    const before = process.cpuUsage();
    const args = ['-j', '-c', connections, '-d', duration, '-m', 'POST', '-b', JSON.stringify(call.body)];
    for (const [header, value] of Object.entries(call.headers)) args.push('-H', `${header}=${value}`);
    // asynchronously: this process serves the load meanwhile
    const out = await new Promise<string>((resolve, reject) => {
      execFile(autocannon, [...args, `http://127.0.0.1:${PORTS[name]}/trpc/${call.path}`], { maxBuffer: 1 << 24 }, (error, stdout) =>
        error ? reject(error) : resolve(stdout),
      );
    });
    const cpu = process.cpuUsage(before);
    const result = JSON.parse(out) as {
      requests: { average: number; total: number };
      latency: { p99: number };
      non2xx: number;
      statusCodeStats?: Record<string, { count: number }>;
    };
    const answered = result.requests.total;
    return {
      reqPerSec: result.requests.average,
      p99: result.latency.p99,
      cpuMsPerReq: (cpu.user + cpu.system) / 1000 / answered,
      statuses: result.statusCodeStats,
    };
  };
  // a check that both answer what is expected, then a warm-up of each
  for (const call of Object.values(calls)) {
    for (const name of ['plain', 'trpc'] as const) {
      const res = await servers[name].inject({ method: 'POST', url: `/trpc/${call.path}`, headers: call.headers, payload: call.body });
      if (res.statusCode !== call.status) throw new Error(`${name} ${call.path}: ${res.statusCode} ${res.body}`);
      await run(name, call, '2');
    }
  }
  for (let round = 1; round <= Number(rounds); round++) {
    for (const [label, call] of Object.entries(calls)) {
      // alternate which goes first
      const order = round % 2 === 1 ? (['trpc', 'plain'] as const) : (['plain', 'trpc'] as const);
      for (const name of order) {
        const r = await run(name, call, seconds);
        const line = `round ${round} | ${label} | ${name} | ${r.reqPerSec.toFixed(0)} req/s | p99 ${r.p99} ms | ${r.cpuMsPerReq.toFixed(3)} ms CPU/req | load ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')} | ${JSON.stringify(r.statuses)}`;
        console.log(line);
      }
    }
  }
} finally {
  await servers.plain.close();
  await servers.trpc.close();
  await db.drop();
}
