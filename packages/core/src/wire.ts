/**
 * The enums of the wire contract (API.md): what a seat's, a reservation's or a queue token's status, an
 * expiry's reason and a wallet entry's type may be. Defined beside the entity columns that hold them; the
 * API's output schemas take them from here, never from the database package.
 */
export {
  QUEUE_EXPIRED_REASONS,
  QUEUE_TOKEN_STATUSES,
  type QueueExpiredReason,
  type QueueTokenStatus,
  RESERVATION_STATUSES,
  type ReservationStatus,
  SEAT_STATUSES,
  type SeatStatus,
  WALLET_TRANSACTION_TYPES,
  type WalletTransactionType,
} from '@frontrow/db';
