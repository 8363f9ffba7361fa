/** The bench report as plain-text tables for a terminal. */
import type { LatencySummary } from './recorder.ts';
import type { BenchReport, PhaseFigures } from './report.ts';

export function formatTable(header: string[], rows: string[][], alignLeft: number[] = [0]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (alignLeft.includes(i) ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));
const rate = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(1));
const percent = (value: number | null) => (value === null ? '-' : `${(value * 100).toFixed(0)}%`);

export function formatPhase(phase: PhaseFigures): string {
  const title = `${phase.name}${phase.setup ? ' (setup)' : ''}: ${phase.seconds.toFixed(1)} s, machine CPU ${percent(phase.cpu.machineBusy)} of ${phase.cpu.cores} cores, bench client ${phase.cpu.clientCores.toFixed(2)} cores`;
  const rows = phase.procedures.map((f) => [
    f.procedure,
    String(f.count),
    rate(f.rps),
    f.ratio === null ? '-' : f.ratio.toFixed(3),
    ms(f.p50),
    ms(f.p95),
    ms(f.p99),
    ms(f.max),
    Object.entries(f.errors)
      .map(([reason, n]) => `${reason} ${n}`)
      .join(', ') || '-',
  ]);
  const db = phase.database;
  const database = db
    ? `\ndatabase: ${db.roundTrips} round trips from the API (${db.perCall === null ? '-' : db.perCall.toFixed(3)} per call), ${db.admissionReads} admission-state reads`
    : '';
  return `${title}${database}\n${formatTable(['procedure', 'count', 'req/s', 'x healthz', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'errors'], rows, [0, 8])}`;
}

function latency(summary: LatencySummary | null): string {
  if (!summary) return 'not measured';
  return `p50 ${ms(summary.p50)} ms, p95 ${ms(summary.p95)} ms, p99 ${ms(summary.p99)} ms, max ${ms(summary.max)} ms (${summary.count} samples)`;
}

export function formatReport(report: BenchReport): string {
  const out: string[] = [];
  out.push(
    `FrontRow bench: ${report.scenarios.join(', ')} against ${report.url}, ${String(report.options.concurrency)} clients, ${String(report.options.client)} client, ${report.machine.cores} cores (shared with the server)`,
  );
  out.push(
    `healthz ceiling: ${rate(report.healthz.rps)} req/s at ${String(report.options.concurrency)} clients (before ${rate(report.healthz.before)}, after ${
      report.healthz.after === null ? '-' : rate(report.healthz.after)
    }; p50 ${ms(report.healthz.p50)} ms, p99 ${ms(report.healthz.p99)} ms)`,
  );
  for (const phase of report.phases) out.push('', formatPhase(phase));
  const measured = report.phases.filter((p) => !p.setup && p.database !== null);
  if (measured.length > 0) {
    out.push(
      '',
      'database round trips of the API processes per call (their /metrics; the worker and pg-boss not included):',
      formatTable(
        ['phase', 'calls', 'calls/s', 'round trips', 'per call', 'round trips/s', 'admission-state reads'],
        measured.map((p) => {
          const calls = p.procedures.reduce((sum, f) => sum + f.count, 0);
          const db = p.database;
          return [
            p.name,
            String(calls),
            rate(calls / Math.max(p.seconds, 1e-9)),
            String(db?.roundTrips ?? '-'),
            db?.perCall === null || db?.perCall === undefined ? '-' : db.perCall.toFixed(3),
            db ? rate(db.roundTrips / Math.max(p.seconds, 1e-9)) : '-',
            String(db?.admissionReads ?? '-'),
          ];
        }),
      ),
    );
  }
  if (report.poll && report.poll.length > 0) {
    out.push(
      '',
      formatTable(
        ['waiting', 'queue.status req/s', 'x healthz'],
        report.poll.map((p) => [String(p.waiting), rate(p.rps), p.ratio.toFixed(3)]),
      ),
    );
  }
  if (report.flow) {
    const f = report.flow;
    out.push(
      '',
      `flow: ${f.users} users: ${Object.entries(f.outcomes)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}; seats sold ${f.seats.sold}/${f.seats.total}`,
      `sell-out time: ${f.sellOutSeconds === null ? 'never sold out' : `${f.sellOutSeconds.toFixed(2)} s`} (every seat held or sold); ${
        f.allSoldSeconds === null ? 'some seats unsold at the end' : `last seat paid at ${f.allSoldSeconds.toFixed(2)} s`
      }`,
      `admission latency: ${latency(f.admissionLatencyMs)}`,
      `hold-expiry lag: ${latency(f.holdExpiryLagMs)}`,
      `wait estimate vs real wait: ${
        f.waitEstimate === null
          ? 'not measured (the line never moved, or nobody waited)'
          : `median error ${f.waitEstimate.medianErrorPercent.toFixed(0)}%, p90 ${f.waitEstimate.p90ErrorPercent.toFixed(0)}% of the real wait (${f.waitEstimate.count} users; median estimate ${f.waitEstimate.medianEstimateSeconds} s, real ${f.waitEstimate.medianActualSeconds.toFixed(1)} s; ${f.waitEstimate.beforeLineMoved} seen before the line moved, left out)`
      }`,
    );
  }
  if (report.noShow) {
    const n = report.noShow;
    const seconds = (value: number) => `${(value / 1000).toFixed(1)} s`;
    out.push(
      '',
      `no-show: ${n.users} users, ${n.noShows} never come back (${(n.share * 100).toFixed(0)}%); max-active ${n.maxActive}, active time ${n.activeSeconds} s, real users shop ${n.shopMs} ms`,
      formatTable(
        ['run', 'arrival window', 'no-show slot-s', 'freed NO_SHOW', 'lapsed', 'real wait p50', 'p95', 'max', 'real admitted', 'total'],
        n.runs.map((r) => [
          r.name,
          `${r.arrivalSeconds} s`,
          r.wastedSlotSeconds.toFixed(1),
          `${r.freedAsNoShow}/${r.noShows}`,
          String(r.lapsed),
          r.realWaitMs ? seconds(r.realWaitMs.p50) : '-',
          r.realWaitMs ? seconds(r.realWaitMs.p95) : '-',
          r.realWaitMs ? seconds(r.realWaitMs.max) : '-',
          `${r.realAdmitted}/${r.realUsers}`,
          `${r.totalSeconds.toFixed(1)} s`,
        ]),
      ),
    );
  }
  for (const sample of report.activeMax)
    out.push(`ACTIVE tokens of concert ${sample.concertId}: max ${sample.max} of ${sample.maxActive} (${sample.samples} samples)`);
  out.push('', `invariant check: ${report.invariants.passed ? 'PASSED' : 'FAILED'}`);
  for (const check of report.invariants.checks)
    out.push(`  ${check.passed ? 'ok  ' : 'FAIL'} ${check.name}${check.passed ? '' : `: ${check.detail}`}`);
  if (report.targets.length > 0) {
    out.push(
      '',
      formatTable(
        ['target', 'goal', 'measured', 'met'],
        report.targets.map((t) => [
          t.name,
          t.goal,
          t.value === null ? '-' : t.value < 10 ? t.value.toFixed(3) : t.value.toFixed(0),
          t.met === null ? '-' : t.met ? 'yes' : 'NO',
        ]),
        [0, 1],
      ),
    );
  }
  for (const note of report.notes) out.push(`note: ${note}`);
  return out.join('\n');
}
