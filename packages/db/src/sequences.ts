/**
 * Each concert draws queue tickets from a sequence of its own: a per-concert increasing number
 * without a hot counter row that every `queue.enter` would have to lock.
 */
export function ticketSequenceName(concertId: string): string {
  if (!/^\d+$/.test(concertId)) throw new Error(`invalid concert id ${concertId}`);
  return `queue_ticket_${concertId}`;
}
