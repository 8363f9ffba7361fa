/**
 * Progress of a bench phase on stderr: one line rewritten in place on a terminal, a plain line every few
 * seconds otherwise (CI logs, files), so stdout keeps only the report.
 */
export type ProgressStream = { isTTY?: boolean; columns?: number; write(chunk: string): unknown };

export type PhaseStatus = {
  /** Work done and to do (users, seconds); `total` 0 for open-ended work. */
  done: number;
  total: number;
  unit: string;
  /** Calls answered and failed so far in the phase. */
  answered: number;
  failed: number;
  /** Extra figures for the line, e.g. `sold 120/1000`. */
  note?: string;
};

export type Progress = {
  /** Starts showing `status()` for a phase, every 100 ms on a TTY and every `plainEveryMs` otherwise. */
  phase(name: string, status: () => PhaseStatus): void;
  /** Ends the current phase with its final line. */
  end(): void;
  /** A line of its own (warnings, setup steps) that does not tear the progress line. */
  note(line: string): void;
};

export function createProgress(stream: ProgressStream, options: { plainEveryMs?: number; quiet?: boolean } = {}): Progress {
  const tty = stream.isTTY === true;
  const plainEveryMs = options.plainEveryMs ?? 5_000;
  let timer: NodeJS.Timeout | undefined;
  let current: { name: string; status: () => PhaseStatus; started: number; lastAnswered: number; lastAt: number } | undefined;
  let drawn = false;

  const line = (final: boolean): string => {
    if (!current) return '';
    const status = current.status();
    const now = performance.now();
    const elapsed = (now - current.started) / 1000;
    // the rate over the last interval while running, the phase's mean at the end
    const rate = final
      ? status.answered / Math.max(elapsed, 1e-3)
      : (status.answered - current.lastAnswered) / Math.max((now - current.lastAt) / 1000, 1e-3);
    current.lastAnswered = status.answered;
    current.lastAt = now;
    const fraction = status.total > 0 ? Math.min(1, status.done / status.total) : 0;
    const bar = status.total > 0 ? `[${'#'.repeat(Math.round(fraction * 20)).padEnd(20, '.')}] ` : '';
    const amount = status.total > 0 ? `${fmt(status.done)}/${fmt(status.total)} ${status.unit}` : `${fmt(status.done)} ${status.unit}`;
    const errors = status.failed > 0 ? `, ${status.failed} errors` : '';
    const note = status.note ? `, ${status.note}` : '';
    return `${current.name} ${bar}${amount}, ${elapsed.toFixed(1)} s, ${Math.round(rate)} req/s${errors}${note}`;
  };

  const draw = (final: boolean) => {
    if (options.quiet || !current) return;
    const text = line(final);
    if (tty) {
      const width = Math.max(20, (stream.columns ?? 120) - 1);
      stream.write(`\r\x1b[2K${text.slice(0, width)}${final ? '\n' : ''}`);
      drawn = !final;
    } else {
      stream.write(`${text}\n`);
    }
  };

  const stopTimer = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };

  return {
    phase(name, status) {
      if (current) this.end();
      const now = performance.now();
      current = { name, status, started: now, lastAnswered: 0, lastAt: now };
      timer = setInterval(() => draw(false), tty ? 100 : plainEveryMs);
      timer.unref();
    },
    end() {
      stopTimer();
      draw(true);
      current = undefined;
      drawn = false;
    },
    note(text) {
      if (options.quiet) return;
      if (tty && drawn) stream.write('\r\x1b[2K');
      stream.write(`${text}\n`);
      if (tty && current) draw(false);
    },
  };
}

function fmt(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}
