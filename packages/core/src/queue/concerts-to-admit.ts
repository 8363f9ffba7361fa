import type { Deps } from '../deps.ts';

/**
 * Concerts the admitter must visit: those with a WAITING token to promote or an ACTIVE one that may lapse.
 * Two index probes per concert (the partial indexes of WAITING and ACTIVE tokens), whatever the line's length.
 */
export async function concertsToAdmit(deps: Pick<Deps, 'em'>): Promise<string[]> {
  const rows = await deps.em.fork().execute<{ id: string }[]>(
    `select c.id from concert c
      where exists (select 1 from queue_token t where t.concert_id = c.id and t.status = 'WAITING')
         or exists (select 1 from queue_token t where t.concert_id = c.id and t.status = 'ACTIVE')
      order by c.id`,
  );
  return rows.map((row) => String(row.id));
}
