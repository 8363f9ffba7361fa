/** What every scenario runs on, and how a timed phase is recorded. */
import type { Caller } from './client.ts';
import { type CpuFigures, startCpuMeter } from './cpu.ts';
import type { BenchDatabase } from './database.ts';
import type { PhaseStatus, Progress } from './progress.ts';
import { type ProcedureFigures, Recorder } from './recorder.ts';
import type { Transport } from './transport.ts';

export type BenchEnv = {
  url: string;
  concurrency: number;
  transport: Transport;
  caller: Caller;
  db: BenchDatabase;
  progress: Progress;
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

export type PhaseReport = {
  name: string;
  setup: boolean;
  seconds: number;
  cpu: CpuFigures;
  /** Filled in against the ceiling once it is known. */
  procedures: ProcedureFigures[];
  recorder: Recorder;
};

export function phaseRunner(progress: Progress, setRecorder: (recorder: Recorder) => void) {
  return async function phase<T>(name: string, options: PhaseOptions, body: () => Promise<T>) {
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
      const report: PhaseReport = { name, setup: options.setup ?? false, seconds, cpu: cpu.stop(), procedures: [], recorder };
      return { value, report };
    } finally {
      progress.end();
    }
  };
}
