import type { EntityManager } from '@frontrow/db';
import { DomainError } from '../errors.ts';
import { replaying } from '../unit-of-work.ts';
import { type Entry, type EntryOutcome, enterGroup, outcomeOf } from './enter-queue.ts';

export type EnterBatcherOptions = {
  /** How long the first entry of a group waits for others (QUEUE_ENTER_BATCH_MS; 0: the next turn of the event loop). */
  windowMs: number;
  /** The most entries in one group (QUEUE_ENTER_BATCH_MAX): a full group is written at once. */
  maxGroup: number;
};

type Waiting = { entry: Entry; resolve: (outcome: EntryOutcome) => void; reject: (error: unknown) => void };

/**
 * Gathers one process's concurrent `queue.enter` calls for a few milliseconds and writes each group in one
 * round trip (`enterGroup`): one connection, one transaction, one ticket per new user, each caller its own
 * outcome. Every guarantee of a lone entry holds across groups and processes, because the group takes the
 * same locks a lone entry does. A group that meets a conflict is replayed whole, as a lone entry is; a
 * group that fails otherwise is written again entry by entry, so whatever broke it fails only its own
 * caller.
 */
export class EnterBatcher {
  private waiting: Waiting[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly em: EntityManager;
  private readonly windowMs: number;
  private readonly maxGroup: number;

  constructor(em: EntityManager, options: EnterBatcherOptions) {
    this.em = em;
    if (!Number.isInteger(options.windowMs) || options.windowMs < 0 || options.windowMs > 1000) {
      throw new Error(`windowMs must be an integer of 0…1000, not ${options.windowMs}`);
    }
    if (!Number.isInteger(options.maxGroup) || options.maxGroup < 1 || options.maxGroup > 1000) {
      throw new Error(`maxGroup must be an integer of 1…1000, not ${options.maxGroup}`);
    }
    this.windowMs = options.windowMs;
    this.maxGroup = options.maxGroup;
  }

  /** The outcome of one entry, written with whatever other entries arrive within the window. */
  enter(entry: Entry): Promise<EntryOutcome> {
    const { promise, resolve, reject } = Promise.withResolvers<EntryOutcome>();
    this.waiting.push({ entry, resolve, reject });
    if (this.waiting.length >= this.maxGroup) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.windowMs);
    return promise;
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const group = this.waiting;
    this.waiting = [];
    if (group.length > 0) void this.write(group);
  }

  private async write(group: Waiting[]): Promise<void> {
    let outcomes: Map<string, EntryOutcome>;
    try {
      outcomes = await replaying(() =>
        enterGroup(
          this.em,
          group.map((w) => w.entry),
        ),
      );
    } catch (error) {
      // BUSY (contention or the database away) is every caller's answer; anything else is written again
      // entry by entry, so one entry that breaks a group cannot fail the others
      if (group.length === 1 || error instanceof DomainError) {
        for (const w of group) w.reject(error);
        return;
      }
      await Promise.all(group.map((w) => this.write([w])));
      return;
    }
    for (const w of group) {
      try {
        w.resolve(outcomeOf(outcomes, w.entry));
      } catch (error) {
        w.reject(error);
      }
    }
  }
}
