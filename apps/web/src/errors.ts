/**
 * Every error reason of docs/API.md as a sentence a person understands, in one table; the web app never
 * shows a code. Reasons the API may add are here already; anything else gets the generic sentence.
 */
import { errorReason } from '@frontrow/api-client';

export const REASON_SENTENCES: Record<string, string> = {
  VALIDATION: 'Something in that request was not right. Please check it and try again.',
  AUTH_MISSING: 'Please sign in first.',
  AUTH_INVALID: 'Your sign-in has run out. Please sign in again.',
  TOKEN_NOT_YOURS: 'This place in line belongs to someone else. Please join the line yourself.',
  TOKEN_MISSING: 'We lost your place in line. Please join the line again.',
  TOKEN_INVALID: 'We could not recognise your place in line. Please join the line again.',
  TOKEN_EXPIRED: 'Your turn has ended. Please join the line again.',
  QUEUE_NOT_ADMITTED: 'It is not your turn yet. Please wait; we will take you to the seats.',
  WRONG_CONCERT: 'Your place in line is for another concert.',
  CONCERT_NOT_FOUND: 'We could not find that concert.',
  SCHEDULE_NOT_FOUND: 'That date is no longer on sale.',
  RESERVATION_NOT_FOUND: 'We could not find that reservation.',
  SEAT_UNAVAILABLE: 'Someone else just took one of those seats. The map is up to date now: please pick again.',
  HOLD_LIMIT_EXCEEDED: 'You can hold at most 4 seats for this concert.',
  HOLD_EXPIRED: 'Your hold ran out, so the seats went back on sale. Please pick seats again.',
  RESERVATION_NOT_PAYABLE: 'This reservation can no longer be paid.',
  INSUFFICIENT_BALANCE: 'Your wallet does not have enough money for this. Please add money first.',
  IDEMPOTENCY_KEY_REUSED: 'That request was already used for something else. Please try again.',
  BALANCE_LIMIT_EXCEEDED: 'Your wallet cannot hold that much. Please add a smaller amount.',
  BUSY: 'We are very busy right now. Please try again in a moment.',
  RATE_LIMITED: 'Too many tries from your connection. Please wait a minute and try again.',
  PAYLOAD_TOO_LARGE: 'That request was too large.',
  // the transport's refusals: a page out of step with the API it talks to
  NOT_FOUND: 'This page is out of date. Please reload it.',
  METHOD_NOT_ALLOWED: 'This page is out of date. Please reload it.',
  UNSUPPORTED_MEDIA_TYPE: 'This page is out of date. Please reload it.',
  BATCH_TOO_LARGE: 'Too much was asked at once. Please try again.',
  STREAM_LIMIT: 'Live updates are busy, so we check your place every few seconds. You keep your place.',
  NOT_OPERATOR: 'This page is for operators. Please sign in with an operator account.',
  DEV_SIGN_IN_DISABLED: 'Sign-in by name is only for development. Please use your account sign-in.',
  // reasons the crowd controls bring (a sale closed, sold out, a no-show's place freed)
  SALES_CLOSED: 'Sales for this concert have closed.',
  SOLD_OUT: 'This concert is sold out.',
  NO_SHOW: 'You were not here when your turn came, so your place went to the next person. You can join the line again.',
  QUEUE_PAUSED: 'The line is paused for a moment. You keep your place.',
};

export const GENERIC_SENTENCE = 'Something went wrong on our side. Please try again.';
export const OFFLINE_SENTENCE = 'We cannot reach FrontRow right now. Check your connection and try again; your place in line is kept.';

/** The sentence for a failed call: its reason's, the network's when it has none, else the generic one. */
export function sentenceFor(error: unknown): string {
  const reason = errorReason(error) ?? reasonOfSerialized(error);
  if (reason === undefined) return error instanceof TypeError || isNetworkError(error) ? OFFLINE_SENTENCE : GENERIC_SENTENCE;
  return sentenceForReason(reason);
}

export function sentenceForReason(reason: string): string {
  return REASON_SENTENCES[reason] ?? GENERIC_SENTENCE;
}

/** A stream's error (`serialized-error` event) may carry the reason without being a TRPCClientError. */
function reasonOfSerialized(error: unknown): string | undefined {
  const data = (error as { data?: { reason?: unknown } } | null)?.data;
  return typeof data?.reason === 'string' ? data.reason : undefined;
}

function isNetworkError(error: unknown): boolean {
  const cause = (error as { cause?: unknown } | null)?.cause;
  return cause instanceof TypeError || (error instanceof Error && /fetch|network/i.test(error.message));
}
