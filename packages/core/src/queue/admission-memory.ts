import { type Listener, type PreparedSource, listen, queryPrepared } from '@frontrow/db/pg';
import type { Clock } from '../clock.ts';
import { DomainError } from '../errors.ts';
import { type ConcertQueueRow, concertQueueColumns } from './concert-queue.ts';
import { isShuffledTicket } from './crowd-rules.ts';
import { FINAL_STATUSES, type TicketState, ticketStateOf } from './ticket.ts';
import type { TokenClaims } from './token-signer.ts';

/** The channel the database's triggers notify (migration 0007): `<concert id>` or `<concert id>:<token id>`. */
export const QUEUE_CHANNEL = 'frontrow_queue';

export type AdmissionMemoryOptions = {
  /** Where the concerts are read when the LISTEN connection is down: the ORM's pool, or a plain `pg` pool. */
  em: PreparedSource;
  /** Where to LISTEN (a connection of its own); without it the timer alone keeps the state. */
  databaseUrl?: string | undefined;
  /** How often every concert held is read again, whatever was notified: the fallback. */
  refreshMs?: number;
  /**
   * The staleness bound: a concert's state read longer ago than this (the read's start) answers nothing
   * from memory, so every answer from memory reflects the database of at most this long ago.
   */
  maxStaleMs?: number;
  /**
   * How long a poll waits for the one shared read of its concert when the state held is older than
   * `maxStaleMs` (or not held yet): past it, or when that read fails, the poll answers BUSY.
   */
  maxWaitMs?: number;
  /** Concerts held at most (each a few hundred bytes); a concert past the cap is always read from the database. */
  maxConcerts?: number;
  /** Left tokens beyond the admission mark held per concert; tickets past the last one held read the database. */
  maxGonePerConcert?: number;
  /** A concert nobody asked about (and nobody watches) for this long is dropped. */
  idleMs?: number;
  /** A failed read or a lost LISTEN connection (both retried). */
  onError?: (error: unknown) => void;
};

type ConcertState = {
  row: ConcertQueueRow;
  /** Tickets beyond the admission mark whose tokens ended (left): never answered WAITING from memory. */
  gone: Set<number>;
  /** The highest ticket the `gone` list is complete through (Infinity unless it was cut at its cap). */
  goneThrough: number;
  /** When the read this state came from started (performance.now()): the state is at least this recent. */
  readAt: number;
  usedAt: number;
  /** What the state was, to tell a change. */
  fingerprint: string;
};

type ConcertRead = ConcertQueueRow & { gone: string[] | null };

/** What a read brought a caller waiting for its concert: when it started and whether it found it, or a failure. */
type ReadOutcome = { readAt: number; found: boolean } | 'failed';

/**
 * Each API process's copy of every concert's admission state (issue 16): the concert's queue row (the
 * columns ticket.ts reads, one list in concert-queue.ts) and the tickets beyond its admission mark that
 * left the line, kept by one reader:
 * - the database's triggers NOTIFY on `frontrow_queue` when a concert row changes (an admission round, a
 *   setting) or a token ends otherwise than by admission (a leave); the concert named is read again, at
 *   once (reads are one at a time, and gather every concert named meanwhile into the next one);
 * - every `refreshMs` every concert held is read again, whatever was notified (a lost notification, a
 *   LISTEN connection that was down), in one query;
 * - a state older than `maxStaleMs` answers nothing from memory by itself: `freshWaitingState` (the
 *   API's polls and streams) then waits, at most `maxWaitMs`, for the next read of that concert, which
 *   every caller waiting for it shares (single flight: one read, however many polls), and answers BUSY if
 *   that read fails or does not come in time. A stale state never turns each poll into a database read,
 *   which under overload (the reader starved of CPU, or blocked) is when the database can least take it.
 *
 * `waitingState` answers only the plain case: a token whose ticket is beyond the admission mark, not
 * among the ones that left, and whose state computed by ticket.ts from the concert row is WAITING. Every
 * other token is read from the database. Since `admittedThrough` only grows and the row is a snapshot
 * no older than `maxStaleMs`, an answer from memory is never ahead of the database: never ACTIVE, never
 * a better position than the database's.
 */
export class AdmissionMemory {
  readonly #em: PreparedSource;
  readonly #refreshMs: number;
  readonly #maxStaleMs: number;
  readonly #maxWaitMs: number;
  readonly #maxConcerts: number;
  readonly #maxGone: number;
  readonly #idleMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #concerts = new Map<string, ConcertState>();
  readonly #subscribers = new Map<string, Set<() => void>>();
  /** `queue.watch` streams of one token each, told when a notification names their token. */
  readonly #tokenSubscribers = new Map<string, Set<() => void>>();
  /** Concerts to read at the next read; `#notified` those named by a notification (their streams look again). */
  readonly #dirty = new Set<string>();
  readonly #notified = new Set<string>();
  #reading: Promise<void> | undefined;
  /** The read under way: its concerts and when it started (a caller whose bound it meets waits for it). */
  #inFlight: { ids: Set<string>; readAt: number } | undefined;
  /** Callers of `freshWaitingState` waiting for the next read of a concert. */
  readonly #waiters = new Map<string, Set<(outcome: ReadOutcome) => void>>();
  #closed = false;
  readonly #timer: NodeJS.Timeout;
  readonly #listener: Listener | undefined;
  /** Counters for /metrics and tests. */
  readonly counts = { memoryAnswers: 0, reads: 0, notifications: 0, waits: 0, busy: 0 };

  constructor(options: AdmissionMemoryOptions) {
    this.#em = options.em;
    this.#refreshMs = options.refreshMs ?? 250;
    this.#maxStaleMs = options.maxStaleMs ?? 1_000;
    this.#maxWaitMs = options.maxWaitMs ?? 1_000;
    this.#maxConcerts = options.maxConcerts ?? 10_000;
    this.#maxGone = options.maxGonePerConcert ?? 10_000;
    this.#idleMs = options.idleMs ?? 60_000;
    this.#onError = options.onError ?? (() => undefined);
    this.#timer = setInterval(() => this.#refreshAll(), this.#refreshMs);
    this.#timer.unref();
    if (options.databaseUrl) {
      this.#listener = listen({
        databaseUrl: options.databaseUrl,
        channel: QUEUE_CHANNEL,
        onNotify: (payload) => this.#notify(payload),
        // notifications sent while nobody listened are lost: read everything again
        onListening: () => this.#relisten(),
        onError: (error) => this.#onError(error),
      });
    }
  }

  /** The staleness bound, for docs and tests. */
  get maxStaleMs(): number {
    return this.#maxStaleMs;
  }

  /** True while the LISTEN connection is up (always false without one). */
  get listening(): boolean {
    return this.#listener?.listening ?? false;
  }

  /**
   * A WAITING token's state from memory, or null: the memory cannot answer now (read the database). A
   * miss on a concert not held asks for it. Never waits: `freshWaitingState` is what calls use.
   */
  waitingState(claims: TokenClaims, now: Date): TicketState | null {
    const state = this.#concerts.get(claims.concertId);
    if (!state) {
      this.#want(claims.concertId);
      return null;
    }
    const at = performance.now();
    state.usedAt = at;
    if (at - state.readAt > this.#maxStaleMs) return null;
    return this.#answer(state, claims, now);
  }

  /**
   * A WAITING token's state from a read of its concert that started at most `maxStaleMs` before this
   * call, or null: the memory cannot answer this token (it was admitted, left, was dealt a new place by
   * the opening, or its concert is past `maxConcerts`): read its row. When the state held is older (the
   * reader is behind: starved of CPU, or its read blocked) or not held yet, waits for the next read of
   * the concert, shared by every caller waiting for it (a read already under way counts if it started
   * within the bound), at most `maxWaitMs`. Throws BUSY (safe to retry) when that read fails or does not
   * come in time: a stale state costs the database one read per concert, never one per poll.
   */
  async freshWaitingState(claims: TokenClaims, clock: Clock): Promise<TicketState | null> {
    const id = claims.concertId;
    const arrived = performance.now();
    const oldest = arrived - this.#maxStaleMs;
    const deadline = arrived + this.#maxWaitMs;
    let waited = false;
    for (;;) {
      const state = this.#concerts.get(id);
      if (state) {
        state.usedAt = performance.now();
        if (state.readAt >= oldest) return this.#answer(state, claims, clock.now());
        // admitted or left, even by an old state, is so in the database too (both only ever grow)
        if (this.#rowOnly(state, claims.ticket)) return null;
      }
      if (!this.#inFlightFor(id, oldest) && !this.#request(id)) return null;
      if (!waited) this.counts.waits++;
      waited = true;
      const outcome = await this.#nextRead(id, deadline - performance.now());
      if (outcome === 'failed' || outcome === null) {
        this.counts.busy++;
        throw new DomainError(
          'BUSY',
          outcome === null ? 'the queue state is being refreshed; retry shortly' : 'the queue state cannot be read; retry shortly',
        );
      }
      // no such concert (as of a read within the bound): its token's row says what it is
      if (!outcome.found && outcome.readAt >= oldest) return null;
    }
  }

  /** Callers of `freshWaitingState` waiting for a read now, for tests. */
  get waiting(): number {
    let n = 0;
    for (const set of this.#waiters.values()) n += set.size;
    return n;
  }

  #answer(state: ConcertState, claims: TokenClaims, now: Date): TicketState | null {
    if (this.#rowOnly(state, claims.ticket) || claims.ticket > state.goneThrough || isShuffledTicket(state.row, claims.ticket)) {
      return null;
    }
    const ticket = ticketStateOf(
      claims.tokenId,
      {
        ...state.row,
        user_id: claims.userId,
        concert_id: claims.concertId,
        ticket: String(claims.ticket),
        status: 'WAITING',
        active_until: null,
        expired_reason: null,
        activated_at: null,
        claimed_at: null,
        pre_ticket: null,
      },
      now,
    );
    // WAITING (paused or sold out included) and PRE_QUEUE come from the concert row alone; any other
    // effective status (a closed sale) reads the database
    if (ticket.status !== 'WAITING' && ticket.status !== 'PRE_QUEUE') return null;
    this.counts.memoryAnswers++;
    return ticket;
  }

  /** The ticket was admitted or its token left: only its row can answer. */
  #rowOnly(state: ConcertState, ticket: number): boolean {
    return ticket <= Number(state.row.admitted_through) || state.gone.has(ticket);
  }

  /** A read under way of concert `id` that started no earlier than `oldest`. */
  #inFlightFor(id: string, oldest: number): boolean {
    const read = this.#inFlight;
    if (!read) return false;
    return read.ids.has(id) && read.readAt >= oldest;
  }

  /** Asks for a read of concert `id` (gathered with every other asked meanwhile); false past `maxConcerts`. */
  #request(id: string): boolean {
    if (this.#closed) return false;
    if (!this.#concerts.has(id) && !this.#dirty.has(id) && this.#concerts.size + this.#dirty.size >= this.#maxConcerts) return false;
    this.#dirty.add(id);
    this.#kick();
    return true;
  }

  /** The outcome of the next read of concert `id` that ends, or null after `ms`. */
  #nextRead(id: string, ms: number): Promise<ReadOutcome | null> {
    if (ms <= 0) return Promise.resolve(null);
    return new Promise((resolve) => {
      const set = this.#waiters.get(id) ?? new Set();
      this.#waiters.set(id, set);
      const done = (outcome: ReadOutcome | null) => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0 && this.#waiters.get(id) === set) this.#waiters.delete(id);
        resolve(outcome);
      };
      const timer = setTimeout(() => done(null), ms);
      set.add(done);
    });
  }

  /** Tells the callers waiting for concert `id` (every concert without `id`) what the read brought. */
  #wake(outcome: ReadOutcome, id?: string): void {
    const sets = id === undefined ? [...this.#waiters.values()] : [this.#waiters.get(id) ?? new Set()];
    for (const set of sets) for (const done of [...set]) done(outcome);
  }

  /** `fn` is called after each read that changed the concert's state or followed a notification naming it. */
  subscribe(concertId: string, fn: () => void): () => void {
    const unsubscribe = addTo(this.#subscribers, concertId, fn);
    if (!this.#concerts.has(concertId)) this.#want(concertId);
    return unsubscribe;
  }

  /**
   * `fn` is called when a notification names token `tokenId` (it ended, or its `activeUntil` moved), and
   * after the LISTEN connection was re-established (what was sent meanwhile is lost).
   */
  subscribeToken(tokenId: string, fn: () => void): () => void {
    return addTo(this.#tokenSubscribers, tokenId, fn);
  }

  /** Concerts held and streams subscribed, for /metrics and tests. */
  size(): { concerts: number; subscribers: number } {
    let subscribers = 0;
    for (const set of this.#subscribers.values()) subscribers += set.size;
    for (const set of this.#tokenSubscribers.values()) subscribers += set.size;
    return { concerts: this.#concerts.size, subscribers };
  }

  /** Reads every concert held (and asked for) now; resolves when that read is applied. */
  async refresh(): Promise<void> {
    this.#refreshAll();
    while (this.#reading) await this.#reading;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#wake('failed');
    await this.#listener?.close();
    await this.#reading;
  }

  #notify(payload: string): void {
    this.counts.notifications++;
    const [concertId = '', tokenId] = payload.split(':');
    // the token's row is committed (notifications are sent at commit): its stream may read it now
    if (tokenId !== undefined) for (const fn of this.#tokenSubscribers.get(tokenId) ?? []) fn();
    if (!this.#concerts.has(concertId) && !this.#subscribers.has(concertId)) return;
    this.#notified.add(concertId);
    this.#dirty.add(concertId);
    this.#kick();
  }

  /** After a (re)connection of LISTEN: every concert is read again and every token stream looks again. */
  #relisten(): void {
    this.#refreshAll();
    for (const set of this.#tokenSubscribers.values()) for (const fn of set) fn();
  }

  #want(concertId: string): void {
    if (this.#concerts.size + this.#dirty.size >= this.#maxConcerts) return;
    this.#dirty.add(concertId);
    this.#kick();
  }

  #refreshAll(): void {
    const now = performance.now();
    for (const [id, state] of this.#concerts) {
      if (now - state.usedAt > this.#idleMs && !this.#subscribers.has(id)) this.#concerts.delete(id);
      else this.#dirty.add(id);
    }
    for (const id of this.#subscribers.keys()) this.#dirty.add(id);
    this.#kick();
  }

  #kick(): void {
    if (this.#reading || this.#closed || this.#dirty.size === 0) return;
    this.#reading = this.#drain().finally(() => {
      this.#reading = undefined;
    });
  }

  /** One read at a time, so a later read is never overwritten by an earlier one. */
  async #drain(): Promise<void> {
    while (this.#dirty.size > 0 && !this.#closed) {
      const ids = [...this.#dirty];
      const notified = new Set([...this.#notified].filter((id) => this.#dirty.has(id)));
      this.#dirty.clear();
      for (const id of notified) this.#notified.delete(id);
      const readAt = performance.now();
      this.#inFlight = { ids: new Set(ids), readAt };
      let rows: ConcertRead[];
      try {
        this.counts.reads++;
        // on the LISTEN connection when there is one: the reader never queues behind a busy pool (whose
        // polls, if this state went stale, would keep it busy)
        const values = [ids, this.#maxGone];
        rows =
          (await this.#listener?.query<ConcertRead>('frontrow_admission_memory', ADMISSION_MEMORY_SQL, values)) ??
          (await queryPrepared<ConcertRead>(this.#em, 'frontrow_admission_memory', ADMISSION_MEMORY_SQL, values));
      } catch (error) {
        // the states age past maxStaleMs; polls waiting for a read answer BUSY (the database cannot be
        // read now: a read of each token's row would fail too) and the timer or the next poll tries again
        this.#inFlight = undefined;
        this.#onError(error);
        this.#wake('failed');
        return;
      }
      this.#inFlight = undefined;
      const found = new Set<string>();
      for (const row of rows) {
        const id = String(row.id);
        found.add(id);
        this.#apply(id, row, readAt, notified.has(id));
      }
      for (const id of ids) if (!found.has(id)) this.#concerts.delete(id);
      for (const id of ids) this.#wake({ readAt, found: found.has(id) }, id);
    }
  }

  #apply(id: string, read: ConcertRead, readAt: number, notified: boolean): void {
    const { gone: goneTickets, ...row } = read;
    const gone = new Set((goneTickets ?? []).map(Number));
    const goneThrough = gone.size >= this.#maxGone ? Math.max(...gone) : Number.POSITIVE_INFINITY;
    const fingerprint = `${JSON.stringify(row)}|${gone.size}|${goneThrough}`;
    const before = this.#concerts.get(id);
    this.#concerts.set(id, { row, gone, goneThrough, readAt, usedAt: before?.usedAt ?? readAt, fingerprint });
    if (notified || before?.fingerprint !== fingerprint) fanOut([...(this.#subscribers.get(id) ?? [])]);
  }
}

/** Subscribers told in one turn of the event loop, at most (`fanOut`). */
export const FAN_OUT_SLICE = 256;

/**
 * Calls every subscriber of a concert that changed, `FAN_OUT_SLICE` per turn of the event loop. Each
 * subscriber is a stream that then looks again at its ticket, through promises: told all at once, the
 * work of 10,000 streams would advance one promise step at a time for all of them together, every
 * stream's intermediate objects alive at the same moment (tens of MB a round, which the young generation
 * cannot hold, so they are promoted and the heap grows: docs/BENCHMARKS.md). A slice's streams finish (or
 * reach their next wait) before the next slice starts. The last slice is told a few ms after the first.
 */
export function fanOut(subscribers: (() => void)[], from = 0): void {
  const end = Math.min(subscribers.length, from + FAN_OUT_SLICE);
  for (let i = from; i < end; i++) subscribers[i]?.();
  if (end < subscribers.length) setImmediate(() => fanOut(subscribers, end));
}

function addTo(map: Map<string, Set<() => void>>, key: string, fn: () => void): () => void {
  const set = map.get(key) ?? new Set();
  map.set(key, set);
  set.add(fn);
  return () => {
    set.delete(fn);
    if (set.size === 0 && map.get(key) === set) map.delete(key);
  };
}

const FINISHED = [...FINAL_STATUSES].map((status) => `'${status}'`).join(', ');

/**
 * The concerts `$1` with, per concert, the first `$2` tickets beyond its admission mark whose tokens
 * finished (by the partial index `queue_token_finished`, whose predicate this repeats): one statement,
 * one snapshot, so the row and the tickets that left agree.
 */
export const ADMISSION_MEMORY_SQL = `select c.id, ${concertQueueColumns('c')},
       array(select g.ticket from queue_token g
              where g.concert_id = c.id and g.ticket > c.admitted_through and g.status in (${FINISHED})
              order by g.ticket limit $2) as gone
  from concert c where c.id = any($1::bigint[])`;
