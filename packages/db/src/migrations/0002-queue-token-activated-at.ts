import { Migration } from '@mikro-orm/migrations';

/**
 * The admitter measures its admission rate over the last minutes (`estimatedWaitSeconds`): this index
 * makes that count touch only the tokens admitted in the window, not every token of the concert.
 */
export class QueueTokenActivatedAt extends Migration {
  override up(): void {
    this.addSql(`create index queue_token_activated_at on queue_token (concert_id, activated_at) where activated_at is not null;`);
  }

  override down(): void {
    this.addSql(`drop index if exists queue_token_activated_at;`);
  }
}
