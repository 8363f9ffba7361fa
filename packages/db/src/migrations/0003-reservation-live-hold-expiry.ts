import { Migration } from '@mikro-orm/migrations';

/**
 * A user's live holds in a concert (the hold limit, read by every hold and by the sold-out precheck) are
 * `HELD` rows of (user, concert) not yet expired: with `expires_at` in the index, the precheck's generic
 * plan (prepared statements are planned once, packages/db orm.ts) reads exactly those rows, instead of
 * preferring `reservation_held_expires_at` and filtering every live hold of every user.
 */
export class ReservationLiveHoldExpiry extends Migration {
  override up(): void {
    this.addSql(`create index reservation_user_concert_live_until on reservation (user_id, concert_id, expires_at) where status = 'HELD';`);
    this.addSql(`drop index if exists reservation_user_concert_live;`);
  }

  override down(): void {
    this.addSql(`create index reservation_user_concert_live on reservation (user_id, concert_id) where status = 'HELD';`);
    this.addSql(`drop index if exists reservation_user_concert_live_until;`);
  }
}
