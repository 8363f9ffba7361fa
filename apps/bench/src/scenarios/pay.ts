/**
 * `payments.pay` alone: `users` admitted users each charge their wallet, hold one seat (setup) and pay.
 * Holds are made and paid in waves small enough that none lapses before it is paid, whatever
 * HOLD_TTL_SECONDS is: only the pay waves are timed, as one phase.
 */
import { mergePhases, type BenchEnv, type PhaseReport } from '../env.ts';
import { forEachConcurrently } from '../pool.ts';
import { type BenchUser, enterUsers, waitAllAdmitted } from '../users.ts';

type Hold = { reservationId: string; client: BenchUser['client']; expiresAt: number };

export async function runPay(env: BenchEnv, concertId: string, dates: string[], price: number, users: number) {
  const admitted = await env.phase(
    'pay: enter, admit, charge',
    { setup: true, status: (r) => ({ done: r.count('wallet.charge'), total: users, unit: 'users' }) },
    async () => {
      const buyers = await enterUsers(env, concertId, users);
      await waitAllAdmitted(env, concertId, buyers);
      const charged: BenchUser[] = [];
      await forEachConcurrently(buyers.length, env.concurrency, async (i) => {
        const buyer = buyers[i];
        if (!buyer) return;
        const done = await env.caller.call('wallet.charge', () => buyer.client.charge({ amount: price }));
        if (done.ok) charged.push(buyer);
      });
      return charged;
    },
  );
  const buyers = admitted.value;
  const holdWaves: PhaseReport[] = [];
  const payWaves: PhaseReport[] = [];
  const paid: { reservationId: string; amount: number }[] = [];
  let wave = env.concurrency * 8;
  for (let start = 0; start < buyers.length; ) {
    const group = buyers.slice(start, start + wave);
    const held = await env.phase(
      'pay: hold',
      { setup: true, status: (r) => ({ done: start + r.count('reservations.hold'), total: buyers.length, unit: 'holds' }) },
      async () => {
        const holds: Hold[] = [];
        const started = Date.now();
        await forEachConcurrently(group.length, env.concurrency, async (i) => {
          const buyer = group[i];
          const seat = start + i;
          const date = dates[Math.floor(seat / 50)];
          if (!buyer || !date) return;
          const hold = await env.caller.call('reservations.hold', () =>
            buyer.client.hold({ concertId, date, seatNumbers: [(seat % 50) + 1] }),
          );
          if (hold.ok)
            holds.push({ reservationId: hold.value.reservationId, client: buyer.client, expiresAt: Date.parse(hold.value.expiresAt) });
        });
        return { holds, ttlMs: Math.min(...holds.map((h) => h.expiresAt)) - started };
      },
    );
    holdWaves.push(held.report);
    const payWave = await env.phase(
      'pay',
      { status: () => ({ done: paid.length, total: buyers.length, unit: 'payments', note: `wave of ${group.length}` }) },
      async () => {
        const holds = held.value.holds;
        await forEachConcurrently(holds.length, env.concurrency, async (i) => {
          const hold = holds[i];
          if (!hold) return;
          const payment = await env.caller.call('payments.pay', () =>
            hold.client.pay({ reservationId: hold.reservationId, idempotencyKey: `bench-pay-${hold.reservationId}` }),
          );
          if (payment.ok) paid.push({ reservationId: payment.value.reservationId, amount: payment.value.amount });
        });
      },
    );
    payWaves.push(payWave.report);
    // the next wave's holds and payments must fit well inside one hold's lifetime
    const spent = (held.report.seconds + payWave.report.seconds) * 1000;
    if (spent > held.value.ttlMs / 3) wave = Math.max(env.concurrency, Math.floor((wave * held.value.ttlMs) / 3 / spent));
    start += group.length;
  }
  return { phases: [admitted.report, mergePhases('pay: hold', holdWaves), mergePhases('pay', payWaves)], paid };
}
