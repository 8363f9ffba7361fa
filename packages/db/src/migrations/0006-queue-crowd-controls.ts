import { Migration } from '@mikro-orm/migrations';

/**
 * The operator's hand on the valve, kept on the concert row beside the admitter's figures (the status
 * read joins the token with its concert by primary key, so every new rule costs the poll no extra read):
 * - `paused`: the admitter admits nobody while set (`frontrow queue pause|resume`);
 * - `sales_closed_at`: the sale has ended (`frontrow concert close`): no new entries, no admissions;
 * - `sold_out`: no seat of a future date is AVAILABLE or HELD, kept by the admitter's rounds;
 * - `admit_per_minute`: an optional cap on admissions over any minute, spread evenly; `admit_next_at` is
 *   the pacing's theoretical time of the next admission, kept by the admitter;
 * - `arrival_seconds`: an admitted user must show up (`queue_token.claimed_at`, set by their first call
 *   with the ACTIVE token) within this many seconds of admission, or the slot is freed (NO_SHOW);
 * - `sales_open_at`: before it, entries wait in a pre-queue; at the opening the admitter gives them a
 *   random order (`opened_at`, `open_seed` record that it ran, once, and its seed) and each such token
 *   keeps the ticket it was issued with in `pre_ticket` (its signed claims name that one).
 * A token ended by the operator says why: `expired_reason` (only with status EXPIRED).
 */
export class QueueCrowdControls extends Migration {
  override up(): void {
    this.addSql(`alter table concert add column paused boolean not null default false;`);
    this.addSql(`alter table concert add column sales_closed_at timestamptz null;`);
    this.addSql(`alter table concert add column sold_out boolean not null default false;`);
    this.addSql(`alter table concert add column admit_per_minute int null check (admit_per_minute > 0);`);
    this.addSql(`alter table concert add column admit_next_at timestamptz null;`);
    this.addSql(`alter table concert add column arrival_seconds int not null default 60 check (arrival_seconds between 1 and 86400);`);
    this.addSql(`alter table queue_token add column claimed_at timestamptz null;`);
    this.addSql(`alter table concert add column sales_open_at timestamptz null;`);
    this.addSql(`alter table concert add column opened_at timestamptz null;`);
    this.addSql(`alter table concert add column opened_through bigint null;`);
    this.addSql(`alter table concert add column open_seed varchar(64) null;`);
    this.addSql(`alter table queue_token add column pre_ticket bigint null;`);
    this.addSql(`alter table queue_token add column expired_reason varchar(20) null;`);
    this.addSql(
      `alter table queue_token add constraint queue_token_expired_reason_check check (expired_reason is null or (status = 'EXPIRED' and expired_reason in ('SALES_CLOSED', 'NO_SHOW')));`,
    );
  }

  override down(): void {
    this.addSql(`alter table queue_token drop constraint if exists queue_token_expired_reason_check;`);
    this.addSql(`alter table queue_token drop column if exists expired_reason;`);
    this.addSql(`alter table queue_token drop column if exists claimed_at;`);
    this.addSql(`alter table queue_token drop column if exists pre_ticket;`);
    this.addSql(`alter table concert drop column if exists open_seed;`);
    this.addSql(`alter table concert drop column if exists opened_through;`);
    this.addSql(`alter table concert drop column if exists opened_at;`);
    this.addSql(`alter table concert drop column if exists sales_open_at;`);
    this.addSql(`alter table concert drop column if exists arrival_seconds;`);
    this.addSql(`alter table concert drop column if exists admit_next_at;`);
    this.addSql(`alter table concert drop column if exists admit_per_minute;`);
    this.addSql(`alter table concert drop column if exists sold_out;`);
    this.addSql(`alter table concert drop column if exists sales_closed_at;`);
    this.addSql(`alter table concert drop column if exists paused;`);
  }
}
