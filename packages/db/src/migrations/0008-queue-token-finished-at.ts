import { Migration } from '@mikro-orm/migrations';

/**
 * Finished tokens leave the hot table (issue 16): the worker's `queue.tokens.purge` deletes tokens that
 * have been COMPLETED, EXPIRED or CANCELLED for longer than QUEUE_TOKEN_RETENTION_SECONDS, and needs to
 * know since when a token is finished. No existing column says so: `active_until` bounds an EXPIRED or
 * COMPLETED token's end, but a WAITING token that left (CANCELLED) has no time at all. So:
 * - `finished_at`, stamped by a trigger when a token enters a final status (or is inserted in one without
 *   it), so no code path that ends a token (payment, leave, expiry by the admitter or by a re-entry, the
 *   bench's clean-up) can forget it; statuses are never left, so it is stamped once;
 * - tokens already finished are stamped with the migration's time: their real end is unknown, and a
 *   later stamp only keeps them longer;
 * - a partial index in finishing order over the finished tokens only, the purge's read.
 */
export class QueueTokenFinishedAt extends Migration {
  override up(): void {
    this.addSql(`alter table queue_token add column finished_at timestamptz null;`);
    this.addSql(`create function frontrow_queue_token_finished() returns trigger language plpgsql as $$
begin
  if new.status in ('COMPLETED', 'EXPIRED', 'CANCELLED') and new.finished_at is null then
    new.finished_at := statement_timestamp();
  end if;
  return new;
end $$;`);
    // the condition in WHEN too: an entry (WAITING) or an admission (ACTIVE) does not even call the function
    this.addSql(`create trigger queue_token_finished_at before insert or update of status on queue_token
  for each row when (new.status in ('COMPLETED', 'EXPIRED', 'CANCELLED') and new.finished_at is null)
  execute function frontrow_queue_token_finished();`);
    this.addSql(`update queue_token set finished_at = now() where status in ('COMPLETED', 'EXPIRED', 'CANCELLED');`);
    this.addSql(`create index queue_token_finished_at on queue_token (finished_at) where status in ('COMPLETED', 'EXPIRED', 'CANCELLED');`);
  }

  override down(): void {
    this.addSql('drop index if exists queue_token_finished_at;');
    this.addSql('drop trigger if exists queue_token_finished_at on queue_token;');
    this.addSql('drop function if exists frontrow_queue_token_finished();');
    this.addSql('alter table queue_token drop column if exists finished_at;');
  }
}
