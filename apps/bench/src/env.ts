/** What every scenario runs on, and how a timed phase is recorded. */
import type { Caller } from './client.ts';
import { type CpuFigures, startCpuMeter } from './cpu.ts';
import type { BenchDatabase } from './database.ts';
import type { PhaseStatus, Progress } from './progress.ts';
import { type ProcedureFigures, Recorder } from './recorder.ts';
import type { Transport } from './transport.ts';

export type BenchEnv = {
  concurrency: number;
  /** One per API process (`--url a,b`). */
  transports: Transport[];
  caller: Caller;
  db: BenchDatabase;
  progress: Progress;
  /** AUTH_DEV_SECRET of the API: simulated users sign in with development identity tokens. */
  authSecret: string;
  /** Milliseconds between two `queue.status` polls of one waiting user. */
  pollMs: number;
  /** Records calls into the phase running now. */
  phase<T>(name: string, options: PhaseOptions, body: () => Promise<T>): Promise<{ value: T; report: PhaseReport }>;
};

export type PhaseOptions = {
  /** A setup phase prepares a measured one; its figures are shown apart and not held to targets. */
  setup?: boolean;
  status?: (recorder: Recorder) => Omit<PhaseStatus, 'answered' | 'failed'>;
};

/** The API processes' own database traffic (their /metrics counters, summed), read before and after a phase. */
export type DatabaseTraffic = { roundTrips: number; admissionReads: number };

export type PhaseReport = {
  name: string;
  /** Database traffic of the API processes during the phase; null where /metrics could not be read. */
  database: DatabaseTraffic | null;
  setup: boolean;
  seconds: number;
  cpu: CpuFigures;
  /** Filled in against the ceiling once it is known. */
  procedures: ProcedureFigures[];
  recorder: Recorder;
};

export function phaseRunner(
  progress: Progress,
  setRecorder: (recorder: Recorder) => void,
  traffic: () => Promise<DatabaseTraffic | null> = async () => null,
) {
  return async function phase<T>(name: string, options: PhaseOptions, body: () => Promise<T>) {
    const before = await traffic();
    const recorder = new Recorder();
    setRecorder(recorder);
    const started = performance.now();
    progress.phase(name, () => ({
      done: 0,
      total: 0,
      unit: 'calls',
      ...options.status?.(recorder),
      answered: recorder.answered,
      failed: recorder.failed,
    }));
    const cpu = startCpuMeter();
    try {
      const value = await body();
      const seconds = (performance.now() - started) / 1000;
      const cpuFigures = cpu.stop();
      const after = await traffic();
      const database =
        before && after
          ? { roundTrips: after.roundTrips - before.roundTrips, admissionReads: after.admissionReads - before.admissionReads }
          : null;
      const report: PhaseReport = { name, setup: options.setup ?? false, seconds, cpu: cpuFigures, database, procedures: [], recorder };
      return { value, report };
    } finally {
      progress.end();
    }
  };
}

/** Seconds of unrecorded load before a fixed-time phase: the server's code for that path is compiled hot first. */
export const WARM_UP_SECONDS = 1;

/** One phase out of the waves of a phase: times and calls added up, CPU shares weighted by time. */
export function mergePhases(name: string, waves: PhaseReport[]): PhaseReport {
  const recorder = new Recorder();
  for (const wave of waves) recorder.merge(wave.recorder);
  const seconds = waves.reduce((sum, w) => sum + w.seconds, 0);
  const weighted = (pick: (w: PhaseReport) => number | null) =>
    waves.some((w) => pick(w) === null) ? null : waves.reduce((sum, w) => sum + (pick(w) ?? 0) * w.seconds, 0) / Math.max(seconds, 1e-9);
  const database = waves.every((w) => w.database !== null)
    ? {
        roundTrips: waves.reduce((sum, w) => sum + (w.database?.roundTrips ?? 0), 0),
        admissionReads: waves.reduce((sum, w) => sum + (w.database?.admissionReads ?? 0), 0),
      }
    : null;
  return {
    name,
    database,
    setup: waves[0]?.setup ?? false,
    seconds,
    cpu: {
      machineBusy: weighted((w) => w.cpu.machineBusy),
      clientCores: weighted((w) => w.cpu.clientCores) ?? 0,
      cores: waves[0]?.cpu.cores ?? 0,
    },
    procedures: [],
    recorder,
  };
}
