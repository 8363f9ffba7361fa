import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@frontrow/db';
import { shuffledPlaces } from './admission.ts';

/** One pre-queued token's draw at the opening: the audit record (the worker logs them with the seed). */
export type OpeningPlace = { tokenId: string; userId: string; issuedTicket: number; ticket: number };
export type Opening = { seed: string; openedAt: string; places: OpeningPlace[] };

/**
 * The fair opening of a sale with a pre-queue, inside the admitter's round (its transaction, under the
 * concert's exclusive admission lock, which every entry holds shared while it draws a ticket): every
 * WAITING token gets a uniformly random place among the tickets the pre-queue drew, which are all below
 * any ticket drawn after (one sequence), so everyone who arrived later stays behind. The tickets are a
 * permutation of the same numbers; each token keeps the one it was issued (and signed) with in
 * `pre_ticket`. `opened_at` makes it run once: a second round (or a second worker) finds it set.
 */
export async function openSales(em: EntityManager, concertId: string, now: Date): Promise<Opening> {
  const seed = randomBytes(32);
  const waiting = await em.execute<{ id: string; user_id: string; ticket: string }[]>(
    `select id, user_id, ticket from queue_token where concert_id = ? and status = 'WAITING' order by ticket for update`,
    [concertId],
  );
  const tickets = waiting.map((row) => Number(row.ticket));
  const order = shuffledPlaces(waiting.length, seed);
  const places = waiting.map((row, i) => ({
    tokenId: String(row.id),
    userId: row.user_id,
    issuedTicket: Number(row.ticket),
    ticket: tickets[order[i] as number] as number,
  }));
  if (places.length > 0) {
    const ids = places.map((p) => p.tokenId);
    // two steps: (concert_id, ticket) is unique and checked row by row, so the numbers step aside first
    await em.execute(
      `update queue_token set pre_ticket = ticket, ticket = -ticket, version = version + 1 where id = any(?::bigint[]) and status = 'WAITING'`,
      [`{${ids.join(',')}}`],
    );
    await em.execute(
      `update queue_token q set ticket = v.ticket
         from unnest(?::bigint[], ?::bigint[]) as v(id, ticket)
        where q.id = v.id`,
      [`{${ids.join(',')}}`, `{${places.map((p) => p.ticket).join(',')}}`],
    );
  }
  // the highest ticket dealt: tokens issued at or below it have another place now (`isShuffledTicket`)
  const openedThrough = tickets.length > 0 ? Math.max(...tickets) : null;
  await em.execute(`update concert set opened_at = ?, open_seed = ?, opened_through = ? where id = ?`, [
    now,
    seed.toString('hex'),
    openedThrough,
    concertId,
  ]);
  return { seed: seed.toString('hex'), openedAt: now.toISOString(), places };
}
