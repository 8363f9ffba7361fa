/**
 * Prometheus series of one API server (API.md: `GET /metrics`). A registry per server, never prom-client's
 * global one, so several servers in one process (tests, `pnpm start`) do not collide.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { type Clock, type EntityManager, readConcertFigures } from '@frontrow/core';
import { withTimeout } from './with-timeout.ts';

/** What /metrics reads of pg-boss: its queue table, counted by the supervising workers' monitor. */
export type JobQueueSource = {
  getQueues(): Promise<
    { name: string; readyCount: number; activeCount: number; deferredCount: number; readyOldestSeconds: number | null }[]
  >;
};

export type CallOutcome = { procedure: string; status: number; reason: string };

export type ApiMetrics = {
  registry: Registry;
  /** One HTTP request; `calls` are its tRPC procedure calls (several for a batch). */
  observeRequest(request: {
    method: string;
    route: string;
    status: number;
    seconds: number;
    streamed: boolean;
    calls: CallOutcome[];
  }): void;
  /** Reads the database-derived series; a database that does not answer sets `frontrow_database_up` to 0. */
  refresh(): Promise<void>;
};

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** This process's own database traffic, for the bench's round trips per call (docs/BENCHMARKS.md). */
export type DatabaseTraffic = {
  /** Queries sent on the ORM's pool (countRoundTrips). */
  roundTrips(): number;
  /** Reads of the in-memory admission state (on its LISTEN connection, apart from the pool). */
  admissionReads?(): number;
};

export function createMetrics(options: {
  em: EntityManager;
  /** The clock the rules are judged by (an ACTIVE token past `activeUntil` is no longer active). */
  clock: Clock;
  boss?: JobQueueSource;
  timeoutMs?: number;
  traffic?: DatabaseTraffic;
}): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'frontrow_' });
  const registers = [registry];

  const httpRequests = new Counter({
    name: 'frontrow_http_requests_total',
    help: 'HTTP requests by route pattern, method and status',
    labelNames: ['method', 'route', 'status'],
    registers,
  });
  const httpDuration = new Histogram({
    name: 'frontrow_http_request_duration_seconds',
    help: 'HTTP request latency by route pattern and method',
    labelNames: ['method', 'route'],
    buckets: SECONDS_BUCKETS,
    registers,
  });
  const calls = new Counter({
    name: 'frontrow_trpc_calls_total',
    help: 'tRPC procedure calls by procedure, HTTP status and stable error reason ("" on success)',
    labelNames: ['procedure', 'status', 'reason'],
    registers,
  });
  const callDuration = new Histogram({
    name: 'frontrow_trpc_call_duration_seconds',
    help: 'latency of the HTTP request that carried a tRPC call (a batch shares one), subscriptions excluded',
    labelNames: ['procedure', 'status'],
    buckets: SECONDS_BUCKETS,
    registers,
  });

  const { traffic } = options;
  if (traffic) {
    // read at each scrape (after the scrape's own database reads, which it counts)
    new Counter({
      name: 'frontrow_database_round_trips_total',
      help: "queries this process sent on its database pool (one per round trip; a multi-statement script counts once); pg-boss's pool and the admission state's reads not included",
      registers,
      collect() {
        this.reset();
        this.inc(traffic.roundTrips());
      },
    });
    const admissionReads = traffic.admissionReads;
    if (admissionReads) {
      new Counter({
        name: 'frontrow_admission_state_reads_total',
        help: "reads of the in-memory admission state (its own connection): a fallback timer's and notifications', whatever the crowd",
        registers,
        collect() {
          this.reset();
          this.inc(admissionReads());
        },
      });
    }
  }
  const databaseUp = new Gauge({ name: 'frontrow_database_up', help: '1 when the last scrape could read the database', registers });
  const waiting = new Gauge({
    name: 'frontrow_queue_waiting',
    help: 'WAITING queue tokens per concert',
    labelNames: ['concert_id'],
    registers,
  });
  const active = new Gauge({
    name: 'frontrow_queue_active',
    help: 'ACTIVE (unlapsed) queue tokens per concert',
    labelNames: ['concert_id'],
    registers,
  });
  // Counters read from the database: every API instance reports the same cluster-wide totals.
  const admissions = new Counter({
    name: 'frontrow_queue_admissions_total',
    help: 'tokens ever admitted (made ACTIVE), per concert',
    labelNames: ['concert_id'],
    registers,
  });
  const tokenExpiries = new Counter({
    name: 'frontrow_queue_expiries_total',
    help: 'tokens that lapsed (EXPIRED), per concert',
    labelNames: ['concert_id'],
    registers,
  });
  const endedByClose = new Counter({
    name: 'frontrow_queue_sales_closed_expiries_total',
    help: 'waiting tokens ended by the close of the sale (EXPIRED, reason SALES_CLOSED), per concert',
    labelNames: ['concert_id'],
    registers,
  });
  const noShows = new Counter({
    name: 'frontrow_queue_no_shows_total',
    help: 'admitted tokens never claimed within the arrival window (EXPIRED, reason NO_SHOW), per concert',
    labelNames: ['concert_id'],
    registers,
  });
  const paused = new Gauge({
    name: 'frontrow_queue_paused',
    help: '1 while admission is paused, per concert',
    labelNames: ['concert_id'],
    registers,
  });
  const soldOut = new Gauge({
    name: 'frontrow_queue_sold_out',
    help: "1 while no seat of a future date is AVAILABLE or HELD (as of the admitter's last round), per concert",
    labelNames: ['concert_id'],
    registers,
  });
  const salesClosed = new Gauge({
    name: 'frontrow_queue_sales_closed',
    help: '1 once the sale is closed, per concert',
    labelNames: ['concert_id'],
    registers,
  });
  const holds = new Counter({
    name: 'frontrow_holds_total',
    help: 'holds ever made (reservations), per concert',
    labelNames: ['concert_id'],
    registers,
  });
  const holdExpiries = new Counter({
    name: 'frontrow_hold_expiries_total',
    help: 'holds that expired unpaid, per concert',
    labelNames: ['concert_id'],
    registers,
  });
  const payments = new Counter({ name: 'frontrow_payments_total', help: 'payments, per concert', labelNames: ['concert_id'], registers });
  const paidWon = new Counter({
    name: 'frontrow_payments_won_total',
    help: 'money paid in KRW, per concert',
    labelNames: ['concert_id'],
    registers,
  });

  const jobsReady = new Gauge({
    name: 'frontrow_jobs_ready',
    help: 'pg-boss jobs ready to run, per queue',
    labelNames: ['queue'],
    registers,
  });
  const jobsActive = new Gauge({ name: 'frontrow_jobs_active', help: 'pg-boss jobs running, per queue', labelNames: ['queue'], registers });
  const jobsDeferred = new Gauge({
    name: 'frontrow_jobs_deferred',
    help: 'pg-boss jobs waiting for their start time, per queue',
    labelNames: ['queue'],
    registers,
  });
  const jobLag = new Gauge({
    name: 'frontrow_job_lag_seconds',
    help: 'how long the oldest ready job had waited at the last pg-boss monitor pass, per queue',
    labelNames: ['queue'],
    registers,
  });

  const timeoutMs = options.timeoutMs ?? 2_000;
  const domainSeries = [
    waiting,
    active,
    admissions,
    tokenExpiries,
    endedByClose,
    noShows,
    paused,
    soldOut,
    salesClosed,
    holds,
    holdExpiries,
    payments,
    paidWon,
  ];

  async function readDatabase(): Promise<void> {
    // core's figures (three grouped reads, whatever the number of concerts), judged by the API's clock
    const figures = await withTimeout(readConcertFigures(options.em, options.clock.now()), timeoutMs);
    for (const series of domainSeries) series.reset();
    for (const row of figures.queue) {
      const labels = { concert_id: row.concertId };
      waiting.set(labels, row.waiting);
      active.set(labels, row.active);
      admissions.inc(labels, row.admitted);
      tokenExpiries.inc(labels, row.expired);
      endedByClose.inc(labels, row.closedOut);
      noShows.inc(labels, row.noShows);
    }
    for (const row of figures.flags) {
      const labels = { concert_id: row.concertId };
      paused.set(labels, row.paused ? 1 : 0);
      soldOut.set(labels, row.soldOut ? 1 : 0);
      salesClosed.set(labels, row.salesClosed ? 1 : 0);
    }
    for (const row of figures.bookings) {
      const labels = { concert_id: row.concertId };
      holds.inc(labels, row.holds);
      holdExpiries.inc(labels, row.expiredHolds);
      payments.inc(labels, row.payments);
      paidWon.inc(labels, row.paid);
    }
  }

  async function readJobs(boss: JobQueueSource): Promise<void> {
    const queues = await withTimeout(boss.getQueues(), timeoutMs);
    for (const series of [jobsReady, jobsActive, jobsDeferred, jobLag]) series.reset();
    for (const queue of queues) {
      const labels = { queue: queue.name };
      jobsReady.set(labels, queue.readyCount);
      jobsActive.set(labels, queue.activeCount);
      jobsDeferred.set(labels, queue.deferredCount);
      jobLag.set(labels, queue.readyOldestSeconds ?? 0);
    }
  }

  return {
    registry,
    observeRequest({ method, route, status, seconds, streamed, calls: outcomes }) {
      httpRequests.inc({ method, route, status: String(status) });
      // a stream's duration is how long the client watched, not a latency
      if (!streamed) httpDuration.observe({ method, route }, seconds);
      for (const call of outcomes) {
        calls.inc({ procedure: call.procedure, status: String(call.status), reason: call.reason });
        if (!streamed) callDuration.observe({ procedure: call.procedure, status: String(call.status) }, seconds);
      }
    },
    async refresh() {
      try {
        await readDatabase();
        databaseUp.set(1);
      } catch {
        // a scrape during an outage still answers: the process series and database_up 0
        for (const series of domainSeries) series.reset();
        databaseUp.set(0);
      }
      if (options.boss) {
        try {
          await readJobs(options.boss);
        } catch {
          for (const series of [jobsReady, jobsActive, jobsDeferred, jobLag]) series.reset();
        }
      }
    },
  };
}
