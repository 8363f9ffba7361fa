import { InitialSchema } from './0001-initial-schema.ts';
import { QueueTokenActivatedAt } from './0002-queue-token-activated-at.ts';
import { ReservationLiveHoldExpiry } from './0003-reservation-live-hold-expiry.ts';
import { ConcertActiveCount } from './0004-concert-active-count.ts';
import { WalletAdjustment } from './0005-wallet-adjustment.ts';
import { QueueCrowdControls } from './0006-queue-crowd-controls.ts';
import { QueueNotify } from './0007-queue-notify.ts';
import { QueueTokenFinishedAt } from './0008-queue-token-finished-at.ts';

import { MIGRATION_NAMES, type MigrationName } from './names.ts';

/** Each migration's class by its name (names.ts): a name without a class, or a class without a name, does not build. */
const classes = {
  '0001-initial-schema': InitialSchema,
  '0002-queue-token-activated-at': QueueTokenActivatedAt,
  '0003-reservation-live-hold-expiry': ReservationLiveHoldExpiry,
  '0004-concert-active-count': ConcertActiveCount,
  '0005-wallet-adjustment': WalletAdjustment,
  '0006-queue-crowd-controls': QueueCrowdControls,
  '0007-queue-notify': QueueNotify,
  '0008-queue-token-finished-at': QueueTokenFinishedAt,
} satisfies Record<MigrationName, unknown>;

/** Every migration in order; listed in code so no file globbing decides what runs. */
export const migrations = MIGRATION_NAMES.map((name) => ({ name, class: classes[name] }));
