import { Migration } from '@mikro-orm/migrations';

/**
 * Waiting costs the database nothing (docs/ARCHITECTURE.md#the-queue): each API process keeps every
 * concert's admission state in memory and answers a WAITING token's status from it. What it must learn
 * is pushed on the channel `frontrow_queue` (payload: the concert id), by triggers, so no code path that
 * changes a concert or ends a waiting token can forget to say so (a token's change names the token too:
 * `<concert id>:<token id>`, so only that token's `queue.watch` stream reads its row):
 * - any change of a concert row (an admission round's `admitted_through`, `active_count`, the rate; an
 *   operator's settings), sent at commit;
 * - a token whose status changes other than by admission (a leave, a payment, an expiry), or whose
 *   `active_until` moves: a WAITING token that left must no longer be answered WAITING from memory, and
 *   a `queue.watch` stream of an ACTIVE token learns it ended.
 * Identical notifications of one transaction are folded by PostgreSQL into one.
 *
 * The partial index finds the tokens that ended while still beyond a concert's admission mark (left the
 * line): the in-memory state reads them with the concert row, so it never answers WAITING for them.
 */
export class QueueNotify extends Migration {
  override up(): void {
    this.addSql(`create function frontrow_concert_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('frontrow_queue', new.id::text);
  return null;
end $$;`);
    this.addSql(`create function frontrow_queue_token_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('frontrow_queue', new.concert_id::text || ':' || new.id::text);
  return null;
end $$;`);
    this.addSql(
      `create trigger concert_queue_notify after update on concert for each row when (old.* is distinct from new.*) execute function frontrow_concert_notify();`,
    );
    this.addSql(`create trigger queue_token_notify after update of status, active_until on queue_token for each row
  when (not (old.status = 'WAITING' and new.status = 'ACTIVE')
        and (old.status is distinct from new.status or old.active_until is distinct from new.active_until))
  execute function frontrow_queue_token_notify();`);
    this.addSql(
      `create index queue_token_finished on queue_token (concert_id, ticket) where status in ('COMPLETED', 'EXPIRED', 'CANCELLED');`,
    );
  }

  override down(): void {
    this.addSql('drop trigger if exists queue_token_notify on queue_token;');
    this.addSql('drop trigger if exists concert_queue_notify on concert;');
    this.addSql('drop function if exists frontrow_queue_token_notify();');
    this.addSql('drop function if exists frontrow_concert_notify();');
    this.addSql('drop index if exists queue_token_finished;');
  }
}
