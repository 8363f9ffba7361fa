/**
 * The admission state's fan-out (admission-memory.ts `fanOut`): every subscriber of a concert that changed
 * is told, in order, at most FAN_OUT_SLICE in one turn of the event loop, so the streams of one slice
 * finish their work before the next slice starts (docs/BENCHMARKS.md, "A process of its own for the
 * streams"). That every stream then gets its event is tested through the API (queue-memory.int.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { FAN_OUT_SLICE, fanOut } from './admission-memory.ts';

/** One turn of the event loop: what setImmediate callbacks queued before this one ran. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('fanOut', () => {
  it(`tells every subscriber, in order, at most ${FAN_OUT_SLICE} per turn of the event loop`, async () => {
    const total = 2 * FAN_OUT_SLICE + 10;
    const told: number[] = [];
    /** How many had been told when each turn ended. */
    const afterTurn: number[] = [];
    fanOut(Array.from({ length: total }, (_, i) => () => told.push(i)));
    afterTurn.push(told.length);
    while (told.length < total && afterTurn.length < 10) {
      await nextTurn();
      afterTurn.push(told.length);
    }
    expect(afterTurn).toEqual([FAN_OUT_SLICE, 2 * FAN_OUT_SLICE, total]);
    expect(told).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  it('tells a slice or less at once, with nothing left for a later turn', async () => {
    const told: number[] = [];
    fanOut(Array.from({ length: FAN_OUT_SLICE }, (_, i) => () => told.push(i)));
    expect(told).toHaveLength(FAN_OUT_SLICE);
    fanOut([]);
    await nextTurn();
    expect(told).toHaveLength(FAN_OUT_SLICE);
  });
});
