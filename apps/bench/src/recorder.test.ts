import { describe, expect, it } from 'vitest';
import { Recorder, Samples, percentile } from './recorder.ts';

describe('bench recorder', () => {
  it('percentiles are nearest-rank over every sample', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 0.5)).toBe(50);
    expect(percentile(sorted, 0.95)).toBe(95);
    expect(percentile(sorted, 0.99)).toBe(99);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([], 0.5)).toBe(0);
  });

  it('samples sort numerically, not as text, and keep every value past the first buffer', () => {
    const samples = new Samples();
    for (let i = 5000; i >= 1; i--) samples.add(i / 10);
    expect(samples.summary()).toMatchObject({ count: 5000, p50: 250, p99: 495, max: 500 });
  });

  it('counts answers per procedure, errors by reason, and rates over the phase and the ceiling', () => {
    const recorder = new Recorder();
    recorder.record('reservations.hold', 2);
    recorder.record('reservations.hold', 4, 'SEAT_UNAVAILABLE');
    recorder.record('reservations.hold', 6, 'SEAT_UNAVAILABLE');
    recorder.record('queue.status', 1);
    const [hold] = recorder.figures(2, 10);
    expect(hold).toMatchObject({ procedure: 'reservations.hold', count: 3, ok: 1, rps: 1.5, ratio: 0.15, errors: { SEAT_UNAVAILABLE: 2 } });
    expect(recorder.answered).toBe(4);
    expect(recorder.failed).toBe(2);
    expect(recorder.figures(2, null)[0]?.ratio).toBeNull();
  });
});
