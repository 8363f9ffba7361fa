/**
 * `payments.pay` alone: `users` admitted users each hold one seat and charge their wallet (setup), then
 * every hold is paid, `concurrency` at a time. The holds must outlive the setup: HOLD_TTL_SECONDS well
 * above the time `users` holds take.
 */
import type { BenchEnv, PhaseReport } from '../env.ts';
import { forEachConcurrently } from '../pool.ts';
import { enterUsers, waitAllAdmitted } from '../users.ts';

export async function runPay(env: BenchEnv, concertId: string, dates: string[], price: number, users: number) {
  const setup = await env.phase(
    'pay: hold and charge',
    { setup: true, status: (r) => ({ done: r.count('reservations.hold'), total: users, unit: 'holds' }) },
    async () => {
      const buyers = await enterUsers(env, concertId, users);
      await waitAllAdmitted(env, concertId, buyers);
      const holds: { reservationId: string; client: (typeof buyers)[number]['client'] }[] = [];
      await forEachConcurrently(buyers.length, env.concurrency, async (i) => {
        const buyer = buyers[i];
        const date = dates[Math.floor(i / 50)];
        if (!buyer || !date) return;
        const held = await env.caller.call('reservations.hold', () =>
          buyer.client.reservations.hold.mutate({ concertId, date, seatNumbers: [(i % 50) + 1] }),
        );
        if (!held.ok) return;
        const charged = await env.caller.call('wallet.charge', () =>
          buyer.client.wallet.charge.mutate({ userId: buyer.userId, amount: price }),
        );
        if (charged.ok) holds.push({ reservationId: held.value.reservationId, client: buyer.client });
      });
      return holds;
    },
  );
  const holds = setup.value;
  const paid: { reservationId: string; amount: number }[] = [];
  const pay = await env.phase(
    'pay',
    { status: (r) => ({ done: r.count('payments.pay'), total: holds.length, unit: 'payments' }) },
    async () =>
      await forEachConcurrently(holds.length, env.concurrency, async (i) => {
        const hold = holds[i];
        if (!hold) return;
        const payment = await env.caller.call('payments.pay', () =>
          hold.client.payments.pay.mutate({ reservationId: hold.reservationId, idempotencyKey: `bench-pay-${hold.reservationId}` }),
        );
        if (payment.ok) paid.push({ reservationId: payment.value.reservationId, amount: payment.value.amount });
      }),
  );
  return { phases: [setup.report, pay.report] satisfies PhaseReport[], paid };
}
