/** Latencies and outcomes of the calls of a bench phase, per procedure: exact percentiles over every sample. */

export type LatencySummary = { count: number; p50: number; p95: number; p99: number; max: number; mean: number };

export type ProcedureFigures = LatencySummary & {
  procedure: string;
  /** Calls answered with a result. */
  ok: number;
  /** Every answer (results and errors) per second of the phase's wall time. */
  rps: number;
  /** `rps` over the `/healthz` ceiling of the same run; null until a ceiling is known. */
  ratio: number | null;
  /** Error answers by their stable reason (API.md), or NETWORK / HTTP_<status> / UNKNOWN. */
  errors: Record<string, number>;
};

/**
 * Growable float samples. Sorting every sample once at the end gives exact percentiles; at the rates a
 * 2-core machine reaches (tens of thousands of calls a second) that is a few MB and a few ms to sort,
 * so an HDR histogram would buy nothing here.
 */
export class Samples {
  #values = new Float64Array(1024);
  #length = 0;

  add(value: number): void {
    if (this.#length === this.#values.length) {
      const grown = new Float64Array(this.#values.length * 2);
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values[this.#length++] = value;
  }

  get length(): number {
    return this.#length;
  }

  addAll(other: Samples): void {
    for (let i = 0; i < other.#length; i++) this.add(other.#values[i] ?? 0);
  }

  summary(): LatencySummary {
    const sorted = this.#values.slice(0, this.#length).sort();
    let total = 0;
    for (const value of sorted) total += value;
    return {
      count: sorted.length,
      p50: percentile(sorted, 0.5),
      p95: percentile(sorted, 0.95),
      p99: percentile(sorted, 0.99),
      max: sorted.length > 0 ? (sorted[sorted.length - 1] ?? 0) : 0,
      mean: sorted.length > 0 ? total / sorted.length : 0,
    };
  }
}

/** Nearest-rank percentile of ascending values (0 for none). */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] ?? 0;
}

type Tally = { samples: Samples; ok: number; errors: Map<string, number> };

export class Recorder {
  readonly #tallies = new Map<string, Tally>();
  #answered = 0;
  #failed = 0;

  /** One answered call: `reason` is undefined for a result. Latency of errors counts too. */
  record(procedure: string, ms: number, reason?: string): void {
    let tally = this.#tallies.get(procedure);
    if (!tally) {
      tally = { samples: new Samples(), ok: 0, errors: new Map() };
      this.#tallies.set(procedure, tally);
    }
    tally.samples.add(ms);
    this.#answered++;
    if (reason === undefined) tally.ok++;
    else {
      this.#failed++;
      tally.errors.set(reason, (tally.errors.get(reason) ?? 0) + 1);
    }
  }

  /** Adds every call `other` recorded, for a phase run in several waves. */
  merge(other: Recorder): void {
    for (const [procedure, tally] of other.#tallies) {
      let mine = this.#tallies.get(procedure);
      if (!mine) {
        mine = { samples: new Samples(), ok: 0, errors: new Map() };
        this.#tallies.set(procedure, mine);
      }
      mine.samples.addAll(tally.samples);
      mine.ok += tally.ok;
      for (const [reason, n] of tally.errors) mine.errors.set(reason, (mine.errors.get(reason) ?? 0) + n);
    }
    this.#answered += other.#answered;
    this.#failed += other.#failed;
  }

  /** Calls answered so far, all procedures: for the progress line. */
  get answered(): number {
    return this.#answered;
  }

  get failed(): number {
    return this.#failed;
  }

  count(procedure: string): number {
    return this.#tallies.get(procedure)?.samples.length ?? 0;
  }

  figures(seconds: number, ceilingRps: number | null): ProcedureFigures[] {
    return [...this.#tallies.entries()].map(([procedure, tally]) => {
      const summary = tally.samples.summary();
      const rps = seconds > 0 ? summary.count / seconds : 0;
      return {
        procedure,
        ...summary,
        ok: tally.ok,
        rps,
        ratio: ceilingRps ? rps / ceilingRps : null,
        errors: Object.fromEntries([...tally.errors.entries()].sort(([a], [b]) => a.localeCompare(b))),
      };
    });
  }
}
