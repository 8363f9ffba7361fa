export * from './concert.ts';
export * from './payment.ts';
export * from './queue-token.ts';
export * from './reservation.ts';
export * from './schedule.ts';
export * from './seat.ts';
export * from './wallet.ts';
export * from './wallet-transaction.ts';
