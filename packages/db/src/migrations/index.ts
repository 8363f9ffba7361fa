import { InitialSchema } from './0001-initial-schema.ts';
import { QueueTokenActivatedAt } from './0002-queue-token-activated-at.ts';
import { ReservationLiveHoldExpiry } from './0003-reservation-live-hold-expiry.ts';
import { ConcertActiveCount } from './0004-concert-active-count.ts';
import { WalletAdjustment } from './0005-wallet-adjustment.ts';
import { QueueCrowdControls } from './0006-queue-crowd-controls.ts';
import { QueueNotify } from './0007-queue-notify.ts';
import { QueueTokenFinishedAt } from './0008-queue-token-finished-at.ts';

/** Every migration in order; listed in code so no file globbing decides what runs. */
export const migrations = [
  { name: '0001-initial-schema', class: InitialSchema },
  { name: '0002-queue-token-activated-at', class: QueueTokenActivatedAt },
  { name: '0003-reservation-live-hold-expiry', class: ReservationLiveHoldExpiry },
  { name: '0004-concert-active-count', class: ConcertActiveCount },
  { name: '0005-wallet-adjustment', class: WalletAdjustment },
  { name: '0006-queue-crowd-controls', class: QueueCrowdControls },
  { name: '0007-queue-notify', class: QueueNotify },
  { name: '0008-queue-token-finished-at', class: QueueTokenFinishedAt },
];
