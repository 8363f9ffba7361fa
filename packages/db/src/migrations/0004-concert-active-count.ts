import { Migration } from '@mikro-orm/migrations';

/**
 * `estimatedWaitSeconds` tells a user whose place is within the free ACTIVE places that they are in at
 * the next round. The status read is one row by primary key, so the admitter keeps the count it ends
 * each round with on the concert row (`active_count`), instead of every poll counting ACTIVE tokens.
 * Existing concerts start from their present count.
 */
export class ConcertActiveCount extends Migration {
  override up(): void {
    this.addSql(`alter table concert add column active_count int not null default 0;`);
    this.addSql(
      `update concert c set active_count = (select count(*) from queue_token t where t.concert_id = c.id and t.status = 'ACTIVE');`,
    );
  }

  override down(): void {
    this.addSql(`alter table concert drop column if exists active_count;`);
  }
}
