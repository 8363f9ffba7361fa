import { Migration } from '@mikro-orm/migrations';

/**
 * An operator's top-up or correction of a wallet (`frontrow wallet charge`) is written to the ledger as
 * such: type ADJUSTMENT, with the operator's reason. Users' own charges stay CHARGE with no reason.
 */
export class WalletAdjustment extends Migration {
  override up(): void {
    this.addSql(`alter table wallet_transaction add column reason varchar(200) null;`);
    this.addSql(`alter table wallet_transaction drop constraint wallet_transaction_type_check;`);
    this.addSql(
      `alter table wallet_transaction add constraint wallet_transaction_type_check check (type in ('CHARGE', 'PAYMENT', 'REFUND', 'ADJUSTMENT'));`,
    );
    this.addSql(
      `alter table wallet_transaction add constraint wallet_transaction_adjustment_has_reason check ((type = 'ADJUSTMENT') = (reason is not null));`,
    );
  }

  override down(): void {
    this.addSql(`delete from wallet_transaction where type = 'ADJUSTMENT';`);
    this.addSql(`alter table wallet_transaction drop constraint wallet_transaction_adjustment_has_reason;`);
    this.addSql(`alter table wallet_transaction drop constraint wallet_transaction_type_check;`);
    this.addSql(
      `alter table wallet_transaction add constraint wallet_transaction_type_check check (type in ('CHARGE', 'PAYMENT', 'REFUND'));`,
    );
    this.addSql(`alter table wallet_transaction drop column reason;`);
  }
}
