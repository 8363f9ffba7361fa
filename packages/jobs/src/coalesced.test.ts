import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { coalesced } from './scheduler.ts';

describe('coalesced admission nudges', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('sends the first nudge at once, folds a burst into one more at the end of the window, and never drops the last', async () => {
    const sent: string[] = [];
    const nudge = coalesced(async (key) => {
      sent.push(key);
    }, 50);

    await nudge('7');
    expect(sent).toEqual(['7']);
    for (let i = 0; i < 100; i++) await nudge('7');
    expect(sent).toEqual(['7']);

    await vi.advanceTimersByTimeAsync(50);
    expect(sent).toEqual(['7', '7']);
    // that trailing send opened a window of its own, and nothing came in it
    await vi.advanceTimersByTimeAsync(50);
    expect(sent).toEqual(['7', '7']);
    await nudge('7');
    expect(sent).toEqual(['7', '7', '7']);
  });

  it('keeps a window per concert', async () => {
    const sent: string[] = [];
    const nudge = coalesced(async (key) => {
      sent.push(key);
    }, 50);
    await nudge('1');
    await nudge('2');
    await nudge('1');
    expect(sent).toEqual(['1', '2']);
    await vi.advanceTimersByTimeAsync(50);
    expect(sent).toEqual(['1', '2', '1']);
  });

  it('a failed send reaches the caller that triggered it, and the next window sends again', async () => {
    let fail = true;
    const nudge = coalesced(async () => {
      if (fail) throw new Error('database down');
    }, 50);
    await expect(nudge('1')).rejects.toThrow('database down');
    fail = false;
    await vi.advanceTimersByTimeAsync(50);
    await expect(nudge('1')).resolves.toBeUndefined();
  });
});
