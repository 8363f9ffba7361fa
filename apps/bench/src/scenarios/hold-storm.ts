/**
 * A sold-out storm: one performance is sold out (every seat paid for), then `concurrency` admitted users
 * try to hold seats of it back to back for `seconds`. Every answer is SEAT_UNAVAILABLE: the figure is how
 * fast the API says no.
 */
import { randomInt } from 'node:crypto';
import { type BenchEnv, type PhaseReport, WARM_UP_SECONDS } from '../env.ts';
import { forEachConcurrently, loopFor } from '../pool.ts';
import { enterUsers, waitAllAdmitted } from '../users.ts';

const SEATS = 50;

export async function runHoldStorm(env: BenchEnv, concertId: string, date: string, price: number, seconds: number) {
  const setup = await env.phase('hold-storm: sell out', { setup: true }, async () => {
    // 13 buyers take the 50 seats, 4 at a time
    const buyers = await enterUsers(env, concertId, Math.ceil(SEATS / 4));
    // the stormers are admitted before the sell-out: nobody is admitted to a sold-out concert (the
    // capacity holds buyers and stormers at once); their first hold claims their slot
    const stormers = await enterUsers(env, concertId, env.concurrency);
    await waitAllAdmitted(env, concertId, [...buyers, ...stormers]);
    const paid: { reservationId: string; amount: number }[] = [];
    await forEachConcurrently(buyers.length, env.concurrency, async (i) => {
      const buyer = buyers[i];
      if (!buyer) return;
      const seatNumbers = Array.from({ length: SEATS }, (_, n) => n + 1).slice(i * 4, i * 4 + 4);
      const held = await env.caller.call('reservations.hold', () => buyer.client.hold({ concertId, date, seatNumbers }));
      if (!held.ok) throw new Error(`could not sell out the storm's performance: hold answered ${held.reason}`);
      await env.caller.call('wallet.charge', () => buyer.client.charge({ amount: seatNumbers.length * price }));
      const payment = await env.caller.call('payments.pay', () => buyer.client.pay({ reservationId: held.value.reservationId }));
      if (!payment.ok) throw new Error(`could not sell out the storm's performance: pay answered ${payment.reason}`);
      paid.push({ reservationId: payment.value.reservationId, amount: payment.value.amount });
    });
    return { paid, stormers };
  });
  const { stormers, paid } = setup.value;
  const holds = (length: number) =>
    loopFor(length, stormers.length, async (loop) => {
      const user = stormers[loop];
      if (!user) return;
      const first = randomInt(1, SEATS);
      const seatNumbers = randomInt(0, 2) === 0 ? [first] : [first, first + 1];
      await env.caller.call('reservations.hold', () => user.client.hold({ concertId, date, seatNumbers }));
    });
  await env.phase('hold-storm: warm-up', { setup: true }, () => holds(WARM_UP_SECONDS));
  const storm = await env.phase('hold-storm', { status: (r) => ({ done: r.count('reservations.hold'), total: 0, unit: 'holds' }) }, () =>
    holds(seconds),
  );
  return { phases: [setup.report, storm.report] satisfies PhaseReport[], paid };
}
