/** Runs the chosen scenarios against one server, with the `/healthz` ceiling before and after, then checks the invariants. */
import { cpus } from 'node:os';
import type { ClientKind } from './choices.ts';
import { type Caller, createCaller, RateLimitedError } from './client.ts';
import type { BenchDatabase } from './database.ts';
import { type BenchEnv, type DatabaseTraffic, type PhaseReport, phaseRunner } from './env.ts';
import { checkInvariants } from '@frontrow/db/invariants';
import type { Progress } from './progress.ts';
import { Recorder } from './recorder.ts';
import { type BenchReport, evaluateTargets, type PhaseFigures, type Scenario } from './report.ts';
import { type ActiveSampler, startActiveSampler } from './sampler.ts';
import { runEnter } from './scenarios/enter.ts';
import { runFlow } from './scenarios/flow.ts';
import { HEALTHZ, runHealthz } from './scenarios/healthz.ts';
import { runHoldStorm } from './scenarios/hold-storm.ts';
import { type NoShowOptions, noShowCrowd, runNoShow } from './scenarios/no-show.ts';
import { runPay } from './scenarios/pay.ts';
import { runPoll } from './scenarios/poll.ts';
import type { Transport } from './transport.ts';

export type BenchOptions = {
  /** One API process, or several behind one database (users spread round-robin). */
  urls: string[];
  scenarios: Scenario[];
  /** `typed`: the project's api-client; `wire`: plain JSON over the ceiling's own transport (see client.ts). */
  client: ClientKind;
  users: number;
  concurrency: number;
  /** Play this concert instead of creating one per scenario. */
  concert?: string;
  /** Seconds of each fixed-time scenario (enter, poll, hold-storm). */
  duration: number;
  /** Line depths of the poll scenario, one run each. */
  waiting: number[];
  healthzSeconds: number;
  pollMs: number;
  /** Flow users who hold and walk away, for the hold-expiry lag. */
  lapse: number;
  expiryWaitSeconds: number;
  /** maxActive of the flow's concert (default: half the concurrency, so that a line forms). */
  maxActive?: number;
  /** Performances of the flow's concert (default: one per 100 users: demand is about 2.5 times the seats). */
  dates?: number;
  price: number;
  /** The no-show scenario's crowd and its two concerts' queue settings. */
  noShow: NoShowOptions;
  /** Leave the concerts the bench created in the database (by default they are removed after the run). */
  keep: boolean;
};

export type BenchDeps = {
  db: BenchDatabase;
  transports: Transport[];
  progress: Progress;
  /** Aborted on Ctrl-C: every later call fails at once with the signal's reason, so the run winds down and cleans up. */
  signal?: AbortSignal;
  /** AUTH_DEV_SECRET of the API: simulated users sign in with development identity tokens. */
  authSecret: string;
};

export async function runBench(options: BenchOptions, deps: BenchDeps): Promise<BenchReport> {
  const startedAt = new Date();
  let recorder = new Recorder();
  let rateLimited = false;
  const inner = createCaller(deps.transports, options.client, () => recorder);
  // after the first RATE_LIMITED every call fails at once, so the loops wind down instead of hammering on
  const caller: Caller = {
    client: inner.client,
    async call(procedure, run) {
      deps.signal?.throwIfAborted();
      if (rateLimited) throw new RateLimitedError();
      try {
        return await inner.call(procedure, run);
      } catch (error) {
        if (error instanceof RateLimitedError) rateLimited = true;
        throw error;
      }
    },
  };
  const env: BenchEnv = {
    concurrency: options.concurrency,
    transports: deps.transports,
    caller,
    db: deps.db,
    progress: deps.progress,
    authSecret: deps.authSecret,
    pollMs: options.pollMs,
    phase: phaseRunner(
      deps.progress,
      (next) => {
        recorder = next;
      },
      () => databaseTraffic(deps.transports),
    ),
  };

  for (const transport of deps.transports) {
    const reachable = await transport.get('/healthz').catch((error: unknown) => {
      throw new Error(`cannot reach ${transport.origin}/healthz: ${error instanceof Error ? error.message : String(error)}`);
    });
    if (reachable !== 200) throw new Error(`${transport.origin}/healthz answered ${reachable}`);
  }

  const phases: PhaseReport[] = [];
  const concerts: string[] = [];
  const created: string[] = [];
  const samplers: ActiveSampler[] = [];
  const notes: string[] = [];
  const paid: { reservationId: string; amount: number }[] = [];
  let flow: BenchReport['flow'] = null;
  const pollLevels: number[] = [];
  let noShow: BenchReport['noShow'] = null;
  const extraChecks: { name: string; passed: boolean; detail: string }[] = [];

  const concertFor = async (dates: number, maxActive: number, activeTtlSeconds: number, title: string) => {
    if (options.concert) {
      if (!concerts.includes(options.concert)) concerts.push(options.concert);
      return { concertId: options.concert, dates: await datesOf(deps.db, options.concert) };
    }
    const made = await deps.db.createConcert({ dates, maxActive, activeTtlSeconds, price: options.price, title });
    concerts.push(made.concertId);
    created.push(made.concertId);
    return { concertId: made.concertId, dates: made.schedules.map((s) => s.date) };
  };
  const sample = async (concertId: string) => {
    const sampler = startActiveSampler(deps.db, concertId, (await deps.db.queueSettings(concertId)).maxActive);
    samplers.push(sampler);
    return sampler;
  };

  try {
    if (options.healthzSeconds > 0) {
      // unrecorded: a cold client (JIT, sockets) would understate the first ceiling
      await runHealthz(env, 1, 'warm-up');
      phases.push(await runHealthz(env, options.healthzSeconds, 'healthz before'));
    }

    for (const scenario of options.scenarios) {
      if (scenario === 'enter') {
        const { concertId } = await concertFor(1, 100, 60, 'bench: enter');
        const sampler = await sample(concertId);
        phases.push(await runEnter(env, concertId, options.duration));
        await sampler.stop();
      }
      if (scenario === 'poll') {
        for (const waiting of options.waiting) {
          const { concertId } = await concertFor(1, 1, 3_600, `bench: poll ${waiting}`);
          const sampler = await sample(concertId);
          phases.push(...(await runPoll(env, concertId, waiting, options.duration)));
          await sampler.stop();
          pollLevels.push(waiting);
        }
      }
      if (scenario === 'hold-storm') {
        const { concertId, dates } = await concertFor(
          1,
          options.concurrency + 16,
          Math.max(600, options.duration + 300),
          'bench: hold storm',
        );
        const date = dates[0];
        if (!date) throw new Error(`concert ${concertId} has no performance to storm`);
        const sampler = await sample(concertId);
        const storm = await runHoldStorm(env, concertId, date, options.price, options.duration);
        await sampler.stop();
        phases.push(...storm.phases);
        paid.push(...storm.paid);
      }
      if (scenario === 'pay') {
        const { concertId, dates } = await concertFor(
          Math.min(366, Math.ceil(options.users / 50)),
          Math.max(1, options.users),
          600,
          'bench: pay',
        );
        const sampler = await sample(concertId);
        const pay = await runPay(env, concertId, dates, options.price, Math.min(options.users, dates.length * 50));
        await sampler.stop();
        phases.push(...pay.phases);
        paid.push(...pay.paid);
      }
      if (scenario === 'flow') {
        const maxActive = options.maxActive ?? Math.max(1, Math.floor(options.concurrency / 2));
        const dates = options.dates ?? Math.min(366, Math.max(1, Math.ceil(options.users / 100)));
        const { concertId } = await concertFor(dates, maxActive, 60, 'bench: flow');
        const sampler = await sample(concertId);
        const result = await runFlow(env, {
          concertId,
          users: options.users,
          lapse: options.lapse,
          expiryWaitSeconds: options.expiryWaitSeconds,
          sampler,
        });
        await sampler.stop();
        phases.push(...result.phases);
        paid.push(...result.paid);
        notes.push(...result.notes);
        flow = {
          users: options.users,
          outcomes: result.outcomes,
          seats: result.seats,
          sellOutSeconds: result.sellOutSeconds,
          allSoldSeconds: result.allSoldSeconds,
          admissionLatencyMs: result.admissionLatencyMs,
          holdExpiryLagMs: result.holdExpiryLagMs,
          waitEstimate: result.waitEstimate,
        };
      }
      if (scenario === 'no-show') {
        const o = options.noShow;
        const crowd = await env.phase('no-show: sign in', { setup: true }, () => noShowCrowd(env, o));
        const runs: NonNullable<BenchReport['noShow']>['runs'] = [];
        // before: the window as long as the active time (it frees nobody before the lapse); after: a short one
        for (const [name, arrivalSeconds] of [
          ['before', o.activeSeconds],
          ['after', o.arrivalSeconds],
        ] as const) {
          const made = await deps.db.createConcert({
            dates: 1,
            maxActive: o.maxActive,
            activeTtlSeconds: o.activeSeconds,
            arrivalSeconds,
            price: options.price,
            title: `bench: no-show ${name}`,
          });
          concerts.push(made.concertId);
          created.push(made.concertId);
          const sampler = await sample(made.concertId);
          const played = await runNoShow(env, name, made.concertId, arrivalSeconds, crowd.value, o);
          await sampler.stop();
          phases.push(played.phase);
          runs.push(played.run);
          const r = played.run;
          extraChecks.push({
            name: `no-show ${name}: every real user admitted, none freed as a no-show`,
            passed: r.realAdmitted === r.realUsers && r.realFreedAsNoShow === 0,
            detail: `${r.realAdmitted} of ${r.realUsers} real users admitted, ${r.realFreedAsNoShow} freed as NO_SHOW`,
          });
        }
        noShow = { ...o, noShows: crowd.value.filter((m) => m.noShow).length, runs };
      }
    }

    if (options.healthzSeconds > 0) phases.push(await runHealthz(env, options.healthzSeconds, 'healthz after'));
  } catch (error) {
    // a failed or interrupted run still ends the lines it opened and removes its concerts
    for (const sampler of samplers) await sampler.stop();
    for (const concertId of created) await deps.db.retire(concertId).catch(() => {});
    if (!options.keep && created.length > 0) {
      await deps.db.remove(created);
      deps.progress.note(`removed the bench's concerts ${created.join(', ')}`);
    }
    throw error;
  } finally {
    for (const sampler of samplers) await sampler.stop();
  }

  const healthzRps = (name: string) => {
    const phase = phases.find((p) => p.name === name);
    return phase ? phase.recorder.count(HEALTHZ) / phase.seconds : null;
  };
  const before = healthzRps('healthz before');
  const after = healthzRps('healthz after');
  const ceilings = [before, after].filter((v): v is number => v !== null && v > 0);
  const ceiling = ceilings.length > 0 ? ceilings.reduce((a, b) => a + b, 0) / ceilings.length : null;
  const figures: PhaseFigures[] = phases.map((p) => ({
    name: p.name,
    setup: p.setup,
    seconds: p.seconds,
    cpu: p.cpu,
    procedures: p.recorder.figures(p.seconds, ceiling),
    database: p.database && {
      ...p.database,
      perCall: p.recorder.answered > 0 ? p.database.roundTrips / p.recorder.answered : null,
    },
  }));
  const healthzLatency = phases
    .filter((p) => p.name.startsWith('healthz'))
    .flatMap((p) => p.recorder.figures(p.seconds, ceiling))
    .sort((a, b) => b.count - a.count)[0];

  const poll = pollLevels.map((waiting) => {
    const f = figures.find((p) => p.name === `poll ${waiting} waiting`)?.procedures.find((x) => x.procedure === 'queue.status');
    return { waiting, rps: f?.rps ?? 0, ratio: f?.ratio ?? 0 };
  });

  const activeMax = samplers.map((s) => ({ concertId: s.concertId, max: s.max, maxActive: s.maxActive, samples: s.samples }));
  const checked = await checkInvariants(deps.db.query, concerts, { paid, activeSamples: activeMax });
  const invariants = { passed: checked.passed && extraChecks.every((c) => c.passed), checks: [...checked.checks, ...extraChecks] };
  // the bench's own concerts: end their lines, so the admitter stops working for them, then remove them
  for (const concertId of created) await deps.db.retire(concertId);
  if (!options.keep && created.length > 0) {
    await deps.db.remove(created);
    notes.push(`the bench's concerts ${created.join(', ')} were removed after the run (--keep keeps them)`);
  }

  const report: Omit<BenchReport, 'targets'> = {
    version: 1,
    startedAt: startedAt.toISOString(),
    url: options.urls.join(','),
    scenarios: options.scenarios,
    options: { ...options },
    machine: { cores: cpus().length, node: process.version, platform: `${process.platform}-${process.arch}` },
    concerts,
    healthz: {
      rps: ceiling ?? 0,
      before: before ?? 0,
      after,
      p50: healthzLatency?.p50 ?? 0,
      p99: healthzLatency?.p99 ?? 0,
    },
    phases: figures,
    flow,
    poll: pollLevels.length > 0 ? poll : null,
    noShow,
    activeMax,
    invariants,
    notes,
  };
  return { ...report, targets: evaluateTargets(report) };
}

/**
 * The database round trips of the API processes so far (their /metrics counters, summed), or null when
 * one of them does not expose them. pg_stat_statements would see every client of the database (the worker,
 * pg-boss, the bench itself) and needs a server-side preload; the API's own counter is what a call costs.
 */
async function databaseTraffic(transports: Transport[]): Promise<DatabaseTraffic | null> {
  let roundTrips = 0;
  let admissionReads = 0;
  for (const transport of transports) {
    const res = await transport.fetch(`${transport.origin}/metrics`).catch(() => null);
    if (!res?.ok) return null;
    const trips = metricValue(res.text, 'frontrow_database_round_trips_total');
    if (trips === null) return null;
    roundTrips += trips;
    admissionReads += metricValue(res.text, 'frontrow_admission_state_reads_total') ?? 0;
  }
  return { roundTrips, admissionReads };
}

/** The value of an unlabelled series in Prometheus text, or null. */
export function metricValue(text: string, series: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  const value = line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
  return Number.isFinite(value) ? value : null;
}

async function datesOf(db: BenchDatabase, concertId: string): Promise<string[]> {
  const rows = await db.query<{ date: string }>(
    `select to_char(date, 'YYYY-MM-DD') as date from schedule where concert_id = ? order by date`,
    [concertId],
  );
  if (rows.length === 0) throw new Error(`concert ${concertId} does not exist or has no performances`);
  return rows.map((r) => r.date);
}
