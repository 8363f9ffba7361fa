import { Concert, Schedule } from '@frontrow/db';
import type { Deps } from '../deps.ts';

export type ConcertSummary = { id: string; title: string; venue: string; dates: string[] };

/** Every concert with all its performance dates, ascending. */
export async function listConcerts(deps: Pick<Deps, 'em'>): Promise<ConcertSummary[]> {
  const em = deps.em.fork();
  const concerts = await em.find(Concert, {}, { orderBy: { id: 'asc' } });
  const schedules = await em.find(Schedule, { concert: { $in: concerts.map((c) => c.id) } }, { orderBy: { date: 'asc' } });
  return concerts.map((concert) => ({
    id: concert.id,
    title: concert.title,
    venue: concert.venue,
    dates: schedules.filter((s) => s.concert.id === concert.id).map((s) => s.date),
  }));
}
