import { Concert } from '@frontrow/db';
import type { Deps } from '../deps.ts';
import { createConcert } from './create-concert.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/** One demo concert with three dates from next week, so a first `pnpm start` has something to sell; none when any concert exists. */
export async function seedDemoConcert(deps: Deps): Promise<{ concertId: string; dates: string[] } | null> {
  if ((await deps.em.fork().count(Concert, {})) > 0) return null;
  const now = deps.clock.now().getTime();
  const dates = [7, 8, 14].map((days) => new Date(now + days * DAY_MS).toISOString().slice(0, 10));
  const created = await createConcert(deps, { title: 'FrontRow Demo Live', venue: 'Olympic Hall, Seoul', dates, price: 50_000 });
  return { concertId: created.concertId, dates };
}
