/** Where the CPU went during a phase: the whole machine (from /proc/stat) and the bench client itself. */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

export type CpuFigures = {
  /** Busy share of all cores of the machine (0…1); null where /proc/stat is not readable. */
  machineBusy: number | null;
  /** Cores' worth of CPU the bench process used (user + system). */
  clientCores: number;
  cores: number;
};

export type CpuMeter = { stop(): CpuFigures };

export function startCpuMeter(): CpuMeter {
  const machine = readMachine();
  const client = process.cpuUsage();
  const started = performance.now();
  return {
    stop() {
      const seconds = Math.max((performance.now() - started) / 1000, 1e-3);
      const used = process.cpuUsage(client);
      const after = readMachine();
      const busy = machine && after ? (after.busy - machine.busy) / Math.max(after.total - machine.total, 1) : null;
      return { machineBusy: busy, clientCores: (used.user + used.system) / 1e6 / seconds, cores: cpus().length };
    },
  };
}

function readMachine(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal …
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}
