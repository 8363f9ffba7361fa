import { InitialSchema } from './0001-initial-schema.ts';
import { QueueTokenActivatedAt } from './0002-queue-token-activated-at.ts';

/** Every migration in order; listed in code so no file globbing decides what runs. */
export const migrations = [
  { name: '0001-initial-schema', class: InitialSchema },
  { name: '0002-queue-token-activated-at', class: QueueTokenActivatedAt },
];
