/**
 * Every migration's name, in order: what a process that loads no ORM checks the schema against
 * (schema-state.ts). index.ts pairs each with its class; the compiler holds the two to one list.
 */
export const MIGRATION_NAMES = [
  '0001-initial-schema',
  '0002-queue-token-activated-at',
  '0003-reservation-live-hold-expiry',
  '0004-concert-active-count',
  '0005-wallet-adjustment',
  '0006-queue-crowd-controls',
  '0007-queue-notify',
  '0008-queue-token-finished-at',
] as const;

export type MigrationName = (typeof MIGRATION_NAMES)[number];
