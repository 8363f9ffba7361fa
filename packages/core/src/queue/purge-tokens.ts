import type { Deps } from '../deps.ts';
import { FINAL_STATUSES } from './ticket.ts';

export type PurgeTokensOptions = {
  /** How long a finished token is kept (QUEUE_TOKEN_RETENTION_SECONDS). */
  retentionSeconds: number;
  /** Tokens deleted at most by one statement. */
  limit: number;
};

export type PurgeTokensResult = { deleted: number };

const FINISHED = [...FINAL_STATUSES].map((status) => `'${status}'`).join(', ');

/**
 * One batch, one statement (its own transaction): the oldest `limit` tokens finished before the cutoff, by the
 * partial index `queue_token_finished_at` (whose predicate this repeats), each locked with SKIP LOCKED
 * so two purges running at once take different rows and neither waits for the other.
 *
 * Kept whatever their age: tokens whose ticket is beyond their concert's `admitted_through`. They are
 * the people who left the line, which each API process's in-memory admission state reads (the `gone`
 * tickets of admission-memory.ts) so as never to answer WAITING for them; deleted, memory would answer
 * WAITING for a token the database no longer has. The concert row is read without a lock: its mark only
 * grows, so a mark read a moment old keeps more, never less.
 */
export const PURGE_TOKENS_SQL = `with doomed as (
       select t.id from queue_token t join concert c on c.id = t.concert_id
        where t.status in (${FINISHED}) and t.finished_at < ? and t.ticket <= c.admitted_through
        order by t.finished_at
        limit ?
        for update of t skip locked
     )
     delete from queue_token q using doomed where q.id = doomed.id
     returning q.id`;

/**
 * Deletes one batch of finished tokens older than the retention time (the worker's `queue.tokens.purge`
 * repeats it while batches come back full). Nothing references a token: the ledger, payments and
 * reservations keep their own rows. A `payments.pay` replay reads its token, so a replay after the
 * retention time answers TOKEN_INVALID (docs/API.md#idempotency).
 */
export async function purgeFinishedTokens(deps: Pick<Deps, 'em' | 'clock'>, options: PurgeTokensOptions): Promise<PurgeTokensResult> {
  const cutoff = new Date(deps.clock.now().getTime() - options.retentionSeconds * 1000);
  const deleted = await deps.em.getConnection().execute<{ id: string }[]>(PURGE_TOKENS_SQL, [cutoff, options.limit]);
  return { deleted: deleted.length };
}
