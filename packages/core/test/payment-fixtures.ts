/**
 * Test fixtures of payment tests: admitted users whose ACTIVE tokens are written straight through the
 * entity (admission is the queue's work, not what these tests prove), and holds made by booking's use case.
 */
import { Concert, QueueToken, ticketSequenceName } from '@frontrow/db';
import { holdSeats } from '../src/booking/hold-seats.ts';
import type { Deps } from '../src/deps.ts';
import { inTransaction } from '../src/unit-of-work.ts';

export type Admitted = { userId: string; tokenId: string; concertId: string };

/** A performance date `days` from now, `YYYY-MM-DD`: on sale whatever day the tests run. */
export function dayFromNow(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

/** A user with an ACTIVE token of the concert, lapsing `activeSeconds` after the deps' clock. */
export async function admitUser(
  deps: Deps,
  concertId: string,
  options: { userId?: string; activeSeconds?: number } = {},
): Promise<Admitted> {
  const userId = options.userId ?? crypto.randomUUID();
  return await inTransaction(deps.em, async (em) => {
    const now = deps.clock.now();
    const rows = await em
      .getConnection()
      .execute<{ ticket: string }[]>(`select nextval('${ticketSequenceName(concertId)}') as ticket`, [], 'all', em.getTransactionContext());
    const token = em.create(QueueToken, {
      concert: em.getReference(Concert, concertId),
      userId,
      ticket: Number(rows[0]?.ticket),
      status: 'ACTIVE',
      activatedAt: now,
      activeUntil: new Date(now.getTime() + (options.activeSeconds ?? 600) * 1_000),
    });
    await em.flush();
    return { userId, tokenId: token.id, concertId };
  });
}

/** Somebody in the concert's line behind the admitted users: a WAITING token with the next ticket. */
export async function waitingUser(deps: Deps, concertId: string): Promise<void> {
  await deps.em
    .fork()
    .execute(
      `insert into queue_token (concert_id, user_id, ticket, status) values (?, gen_random_uuid(), nextval('${ticketSequenceName(concertId)}'), 'WAITING')`,
      [concertId],
    );
}

/** A HELD reservation of `seatNumbers` on the concert's `date`, made by booking's `holdSeats` on the deps' clock. */
export async function holdFor(
  deps: Deps,
  holder: Admitted,
  date: string,
  seatNumbers: number[],
): Promise<{ reservationId: string; totalPrice: number; expiresAt: Date }> {
  const held = await holdSeats(deps, holder, { concertId: holder.concertId, date, seatNumbers });
  return { reservationId: held.reservationId, totalPrice: held.totalPrice, expiresAt: new Date(held.expiresAt) };
}
