/** The bench's figures, as printed and as written by `--json` (one shape for both). */
import type { Scenario } from './choices.ts';
import type { CpuFigures } from './cpu.ts';
import type { InvariantReport } from '@frontrow/db/invariants';
import type { ProcedureFigures } from './recorder.ts';
import type { CrowdRun } from './scenarios/crowd.ts';
import type { FlowResult } from './scenarios/flow.ts';
import type { NoShowOptions, NoShowRun } from './scenarios/no-show.ts';

export type { Scenario };

export type PhaseFigures = {
  name: string;
  /** Setup phases prepare a measured one: shown, never held to targets. */
  setup: boolean;
  seconds: number;
  cpu: CpuFigures;
  procedures: ProcedureFigures[];
  /**
   * The API processes' database round trips during the phase (their pool's queries, from /metrics; one
   * scrape's own couple of reads included), per call answered; and the reads of their in-memory admission
   * state (a timer's and notifications', not the calls'). Null where /metrics could not be read.
   */
  database: { roundTrips: number; perCall: number | null; admissionReads: number } | null;
};

export type Target = { name: string; goal: string; value: number | null; met: boolean | null };

export type BenchReport = {
  version: 1;
  startedAt: string;
  url: string;
  scenarios: Scenario[];
  options: Record<string, unknown>;
  machine: { cores: number; node: string; platform: string };
  concerts: string[];
  /** `/healthz` at the same concurrency before and after the scenarios; `rps` is their mean: the ratios' denominator. */
  healthz: { rps: number; before: number; after: number | null; p50: number; p99: number };
  phases: PhaseFigures[];
  /** The flow's figures (flow.ts's `FlowResult`, without its phases, payments and notes) and its user count. */
  flow:
    | (Pick<
        FlowResult,
        'outcomes' | 'seats' | 'sellOutSeconds' | 'allSoldSeconds' | 'admissionLatencyMs' | 'holdExpiryLagMs' | 'waitEstimate'
      > & {
        users: number;
      })
    | null;
  poll: { waiting: number; rps: number; ratio: number }[] | null;
  /** The no-show scenario: one crowd, before (arrival window = active time) and after (a short window). */
  noShow: (NoShowOptions & { noShows: number; runs: NoShowRun[] }) | null;
  /** The crowd scenario: one run per number of waiting users. */
  crowd: CrowdRun[] | null;
  activeMax: { concertId: string; max: number; maxActive: number; samples: number }[];
  invariants: InvariantReport;
  targets: Target[];
  notes: string[];
};

/** The targets, read off a report: null where this run did not measure the figure. */
export function evaluateTargets(report: Omit<BenchReport, 'targets'>): Target[] {
  const measured = report.phases.filter((p) => !p.setup && !p.name.startsWith('healthz'));
  const find = (phase: string, procedure: string) =>
    report.phases.find((p) => p.name === phase)?.procedures.find((f) => f.procedure === procedure) ?? null;
  const atLeast = (name: string, goal: number, value: number | null | undefined): Target => ({
    name,
    goal: `>= ${goal}`,
    value: value ?? null,
    met: value === null || value === undefined ? null : value >= goal,
  });
  const atMost = (name: string, goal: number, value: number | null | undefined, unit: string): Target => ({
    name,
    goal: `<= ${goal} ${unit}`,
    value: value ?? null,
    met: value === null || value === undefined ? null : value <= goal,
  });

  const targets: Target[] = [];
  for (const level of report.poll ?? []) targets.push(atLeast(`queue.status / healthz, ${level.waiting} waiting`, 0.15, level.ratio));
  const levels = report.poll ?? [];
  const first = levels[0];
  const last = levels[levels.length - 1];
  if (first && last && levels.length > 1) {
    targets.push(atLeast(`queue.status flat: ${last.waiting} vs ${first.waiting} waiting`, 0.9, last.rps / first.rps));
  }
  const runs = report.crowd ?? [];
  for (const run of runs) {
    targets.push(atMost(`crowd ${run.users}: API database round trips per poll`, 0.01, run.apiRoundTripsPerPoll, 'per poll'));
  }
  const [small, ...larger] = runs;
  const large = larger[larger.length - 1];
  // answers/s compare only where both runs were limited by the machine, not by the users' schedule
  if (small && large && small.shareOfTarget < 0.9 && large.shareOfTarget < 0.9) {
    targets.push(atLeast(`crowd flat: ${large.users} vs ${small.users} waiting`, 0.9, large.rps / small.rps));
  }
  targets.push(atLeast('queue.enter / healthz', 0.08, find('enter', 'queue.enter')?.ratio));
  targets.push(atLeast('sold-out reservations.hold / healthz', 0.1, find('hold-storm', 'reservations.hold')?.ratio));
  targets.push(atLeast('payments.pay / healthz', 0.035, find('pay', 'payments.pay')?.ratio));
  for (const phase of measured) {
    for (const f of phase.procedures) {
      if (f.count < 100) continue;
      targets.push({
        name: `${phase.name}: ${f.procedure} p99 < 5 × p50 and < 100 ms`,
        goal: '< 5, < 100 ms',
        value: f.p99,
        met: f.p99 < 5 * f.p50 && f.p99 < 100,
      });
    }
  }
  targets.push(atMost('admission latency p99', 1500, report.flow?.admissionLatencyMs?.p99, 'ms'));
  targets.push(atMost('hold-expiry lag p99', 2000, report.flow?.holdExpiryLagMs?.p99, 'ms'));
  targets.push(atMost('wait estimate median error', 25, report.flow?.waitEstimate?.medianErrorPercent, '% of the real wait'));
  return targets.filter((t) => t.value !== null);
}
