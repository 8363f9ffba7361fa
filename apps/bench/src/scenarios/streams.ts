/**
 * `frontrow bench --scenario streams` (issue 13's stream target): N open `queue.watch` streams on one API
 * process. Reports, with no stream and with N open, each with the line still and moving: the API's RSS
 * (`/metrics`' `frontrow_process_resident_memory_bytes`: no pid needed), the database's transactions per
 * second (every client of the database: the API, the worker, the bench) and reads of token rows by primary
 * key per second; the streams opened, refused (STREAM_LIMIT) and reset; and `queue.status` latency of
 * WAITING tokens with no stream and with N open (their p99 ratio).
 *
 * The tokens are written to the database and signed with the API's TOKEN_SECRET (entering N users through
 * the API would measure `queue.enter`, not streams). The line moves by 10 places a second by raising the
 * concert's maxActive: a worker must run, so that every stream gets events.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { createTokenSigner } from '@frontrow/core';
import type { BenchDatabase } from '../database.ts';
import { WARM_UP_SECONDS } from '../env.ts';
import type { Progress } from '../progress.ts';
import { Samples } from '../recorder.ts';
import { metricValue } from '../run.ts';

export type StreamsOptions = {
  /** The API: `queue.status` is timed there. */
  url: string;
  /** Where the streams are opened and whose memory is read (`--streams-url`: a streams process); the API when unset. */
  streamsUrl?: string | undefined;
  /** Streams to open (`--streams`). */
  streams: number;
  /** Length of each measured phase. */
  seconds: number;
  /** Keep-alive clients polling `queue.status` back to back (WAITING tokens behind every stream). */
  statusClients: number;
  /** Streams opened per second at most (the connect storm's pace). */
  connectPerSecond: number;
  /** The API's TOKEN_SECRET: the bench signs the tokens it writes. */
  tokenSecret: string;
  /** How long to wait for every stream to be answered (opened, refused or reset). */
  connectTimeoutSeconds: number;
  keep: boolean;
};

export type StreamsDeps = { db: BenchDatabase; progress: Progress; signal?: AbortSignal };

export type StatusLatency = { rps: number; p50: number; p99: number; errors: number };

export type StreamsPhase = {
  name: string;
  /** The streams' process's resident memory at the phase's end, MB (the API's, without --streams-url); null if its /metrics did not say. */
  rssMb: number | null;
  transactionsPerSecond: number;
  tokenReadsPerSecond: number;
  /** `queue.status` measured in this phase, if any. */
  status: StatusLatency | null;
  /** Stream events received per second, while streams are open and the line moves. */
  eventsPerSecond: number | null;
};

export type StreamsReport = {
  url: string;
  /** Where the streams were opened (the API's URL without --streams-url). */
  streamsUrl: string;
  streams: number;
  seconds: number;
  concertId: string;
  /** Load average (1, 5, 15 min) of this machine at the start and the end. */
  load: { start: string; end: string };
  opened: number;
  refused: number;
  reset: number;
  connectSeconds: number;
  phases: StreamsPhase[];
  /** `queue.status` p99 with the streams open over without: within 1.2 is the target. */
  statusP99Ratio: number | null;
};

const LINE_STEP = 10;

export async function runStreams(options: StreamsOptions, deps: StreamsDeps): Promise<StreamsReport> {
  const { db, progress } = deps;
  const { host, port } = hostAndPort(options.url);
  const streamsUrl = options.streamsUrl ?? options.url;
  const streamsAt = hostAndPort(streamsUrl);
  const load = async () => (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const loadStart = await load().catch(() => 'unknown');

  const made = await db.createConcert({ dates: 1, maxActive: 1, activeTtlSeconds: 3_600, price: 50_000, title: 'bench: streams' });
  const concertId = made.concertId;
  const database = (await db.query<{ db: string }>('select current_database() as db'))[0]?.db;
  try {
    progress.note(`streams: writing ${options.streams + options.statusClients} WAITING tokens of concert ${concertId}`);
    await db.prefillWaiting(concertId, options.streams + options.statusClients);
    const rows = await db.query<{ id: string; user_id: string; ticket: string }>(
      'select id, user_id, ticket from queue_token where concert_id = ? order by ticket',
      [concertId],
    );
    const signer = createTokenSigner(options.tokenSecret);
    const signed = await Promise.all(
      rows.map((row) => signer.sign({ tokenId: String(row.id), userId: row.user_id, concertId, ticket: Number(row.ticket) })),
    );
    // the last tokens poll queue.status: behind every streaming token, WAITING throughout
    const tokens = signed.slice(0, options.streams);
    const pollers = signed.slice(options.streams);

    const rssMb = async (): Promise<number | null> => {
      const text = await new Promise<string>((resolve) => {
        http
          .get({ ...streamsAt, path: '/metrics' }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              body += chunk;
            });
            res.on('end', () => resolve(body));
            res.on('error', () => resolve(''));
          })
          .on('error', () => resolve(''));
      });
      const bytes = metricValue(text, 'frontrow_process_resident_memory_bytes');
      return bytes === null ? null : Math.round(bytes / 1024 / 1024);
    };
    /** Transactions of the database, and reads of single token rows by primary key (the status read). */
    const counters = async () => {
      const [row] = await db.query<{ n: string; token_reads: string }>(
        `select pg_stat_force_next_flush(),
                (select xact_commit + xact_rollback from pg_stat_database where datname = ?) as n,
                (select idx_scan from pg_stat_user_indexes where indexrelname = 'queue_token_pkey') as token_reads`,
        [database],
      );
      return { transactions: Number(row?.n ?? 0), tokenReads: Number(row?.token_reads ?? 0) };
    };
    const moveLine = async () => {
      for (let s = 0; s < options.seconds; s++) {
        await db.query('update concert set max_active = max_active + ? where id = ?', [LINE_STEP, concertId]);
        await sleep(1000);
      }
    };
    const statusLatency = (): Promise<StatusLatency> => timeStatus(host, port, pollers, options.seconds);

    let events = 0;
    const phases: StreamsPhase[] = [];
    /** One measured phase: database rates over `during` (the phase's length by default), RSS at its end. */
    const measure = async (name: string, during: 'still' | 'moving', withStatus: boolean) => {
      deps.signal?.throwIfAborted();
      progress.note(`streams: ${name}`);
      const before = await counters();
      const eventsBefore = events;
      const started = performance.now();
      const [status] = await Promise.all([
        withStatus ? statusLatency() : Promise.resolve(null),
        during === 'moving' ? moveLine() : sleep(options.seconds * 1000),
      ]);
      const elapsed = (performance.now() - started) / 1000;
      const after = await counters();
      // the bench's own two counter reads are one transaction each
      const perSecond = (n: number) => Math.max(0, Math.round(n / elapsed));
      phases.push({
        name,
        rssMb: await rssMb(),
        transactionsPerSecond: perSecond(after.transactions - before.transactions - 1),
        tokenReadsPerSecond: perSecond(after.tokenReads - before.tokenReads),
        status,
        eventsPerSecond: name.startsWith('open') && during === 'moving' ? Math.round((events - eventsBefore) / elapsed) : null,
      });
    };

    // unrecorded: the first phase's queue.status would otherwise pay the API's warm-up (JIT, sockets)
    await timeStatus(host, port, pollers, WARM_UP_SECONDS);
    await measure('no stream, line still', 'still', true);
    await measure('no stream, line moving', 'moving', false);

    const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
    let opened = 0;
    let refused = 0;
    let reset = 0;
    const requests: http.ClientRequest[] = [];
    const connectStarted = performance.now();
    progress.phase('streams: connecting', () => ({
      done: opened + reset,
      total: tokens.length,
      unit: 'streams',
      answered: opened,
      failed: reset,
    }));
    const batch = Math.max(1, Math.round(options.connectPerSecond / 10));
    try {
      for (const token of tokens) {
        const req = http.get(
          { ...streamsAt, path: '/trpc/queue.watch', agent, headers: { 'x-queue-token': token, accept: 'text/event-stream' } },
          (res) => {
            opened++;
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              if (chunk.includes('"reason":"STREAM_LIMIT"')) refused++;
              for (let at = chunk.indexOf('"status":'); at >= 0; at = chunk.indexOf('"status":', at + 1)) events++;
            });
            res.on('error', () => undefined);
          },
        );
        req.on('error', () => {
          reset++;
        });
        requests.push(req);
        if (requests.length % batch === 0) await sleep(100);
        deps.signal?.throwIfAborted();
      }
      const deadline = performance.now() + options.connectTimeoutSeconds * 1000;
      while (opened + reset < tokens.length && performance.now() < deadline) {
        deps.signal?.throwIfAborted();
        await sleep(100);
      }
    } finally {
      progress.end();
    }
    const connectSeconds = (performance.now() - connectStarted) / 1000;
    // refused streams were answered and ended: they are not open
    progress.note(`streams: ${opened - refused} open, ${refused} refused, ${reset} reset in ${connectSeconds.toFixed(1)} s`);
    // the process settles (the connect storm's garbage collected) before its memory is read: 2 s, or one
    // phase when phases are shorter
    await sleep(Math.min(2, options.seconds) * 1000);

    await measure(`open ${opened - refused}, line still`, 'still', true);
    await measure(`open ${opened - refused}, line moving`, 'moving', false);
    for (const req of requests) req.destroy();
    agent.destroy();
    // the closed streams' memory is given back over a few collections: 5 s, or two phases when shorter
    await sleep(Math.min(5, 2 * options.seconds) * 1000);
    await measure('closed, line still', 'still', true);

    const none = phases[0]?.status;
    const open = phases[2]?.status;
    return {
      url: options.url,
      streamsUrl,
      streams: options.streams,
      seconds: options.seconds,
      concertId,
      load: { start: loadStart, end: await load().catch(() => 'unknown') },
      opened: opened - refused,
      refused,
      reset,
      connectSeconds,
      phases,
      statusP99Ratio: none && open && none.p99 > 0 ? open.p99 / none.p99 : null,
    };
  } finally {
    await db.retire(concertId);
    if (!options.keep) await db.remove([concertId]);
  }
}

function hostAndPort(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: parsed.port === '' ? 80 : Number(parsed.port) };
}

/** `queue.status` by one keep-alive client per token, back to back for `seconds`: req/s, p50 and p99 in ms. */
async function timeStatus(host: string, port: number, tokens: string[], seconds: number): Promise<StatusLatency> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: tokens.length });
  const times = new Samples();
  let errors = 0;
  const until = performance.now() + seconds * 1000;
  const call = (token: string) =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      const req = http.get({ host, port, path: '/trpc/queue.status', agent, headers: { 'x-queue-token': token } }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) times.add(performance.now() - started);
          else errors++;
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
    });
  await Promise.all(
    tokens.map(async (token) => {
      while (performance.now() < until) await call(token);
    }),
  );
  agent.destroy();
  const { count, p50, p99 } = times.summary();
  return { rps: Math.round(count / seconds), p50: round1(p50), p99: round1(p99), errors };
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/** The report as text: one line per phase, then the streams' outcome and the ratio. */
export function formatStreams(report: StreamsReport): string {
  const lines = [
    `streams: ${report.streams} to ${report.streamsUrl}${report.streamsUrl === report.url ? '' : ` (queue.status on ${report.url})`}, phases of ${report.seconds} s; load average ${report.load.start} at the start, ${report.load.end} at the end`,
    `opened ${report.opened}, refused ${report.refused} (STREAM_LIMIT), reset ${report.reset}; all answered in ${report.connectSeconds.toFixed(1)} s`,
    '',
    `${'phase'.padEnd(28)} ${(report.streamsUrl === report.url ? 'API RSS' : 'RSS').padStart(8)} ${'db xact/s'.padStart(10)} ${'token reads/s'.padStart(14)}  queue.status / events`,
  ];
  for (const p of report.phases) {
    const status = p.status
      ? `${p.status.rps} req/s, p50 ${p.status.p50} ms, p99 ${p.status.p99} ms${p.status.errors ? `, ${p.status.errors} errors` : ''}`
      : '';
    const events = p.eventsPerSecond !== null ? `${p.eventsPerSecond} events/s received` : '';
    lines.push(
      `${p.name.padEnd(28)} ${(p.rssMb === null ? '?' : `${p.rssMb} MB`).padStart(8)} ${String(p.transactionsPerSecond).padStart(10)} ${String(p.tokenReadsPerSecond).padStart(14)}  ${status}${events}`,
    );
  }
  lines.push(
    '',
    `queue.status p99 with the streams open / without: ${report.statusP99Ratio === null ? 'not measured' : report.statusP99Ratio.toFixed(2)} (target ≤ 1.2)`,
  );
  return lines.join('\n');
}
