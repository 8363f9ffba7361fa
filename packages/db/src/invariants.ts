/**
 * The invariants of docs/ARCHITECTURE.md#invariants, checked in the database after a run for the concerts it
 * played: one module for every run that checks them (the bench after each run, the end-to-end test). The
 * checks state each rule in SQL of their own, on purpose: an oracle that borrowed core's fragments (and db
 * cannot import core) would agree with a broken fragment instead of catching it.
 */

/** A query with `?` placeholders (MikroORM's connection `execute`, the bench's database). */
export type InvariantQuery = <T extends object>(sql: string, params?: unknown[]) => Promise<T[]>;

export type InvariantCheck = { name: string; passed: boolean; detail: string };
export type InvariantReport = { passed: boolean; checks: InvariantCheck[] };

export type ClientFacts = {
  /** Reservations the API said were paid: each must be CONFIRMED with one payment of its amount. */
  paid: { reservationId: string; amount: number }[];
  /** Highest number of ACTIVE tokens seen by the sampler during the run, and the capacity it was held to. */
  activeSamples: { concertId: string; max: number; maxActive: number; samples: number }[];
};

const LIMIT = 5;

export async function checkInvariants(query: InvariantQuery, concertIds: string[], facts: ClientFacts): Promise<InvariantReport> {
  const checks: InvariantCheck[] = [];
  const ids = `{${concertIds.join(',')}}`;
  const rows = async <T extends object>(sql: string, params: unknown[] = [ids]) => await query<T>(sql, params);
  const check = (name: string, offenders: unknown[], describe: (first: unknown[]) => string) =>
    checks.push({ name, passed: offenders.length === 0, detail: offenders.length === 0 ? 'ok' : describe(offenders.slice(0, LIMIT)) });

  // 1. no seat held or sold to two reservations at once
  check(
    'no seat sold or held twice',
    await rows(
      `select r.schedule_id, u.n, count(*) as reservations
         from reservation r cross join unnest(r.seat_numbers) as u(n)
        where r.concert_id = any(?::bigint[]) and (r.status = 'CONFIRMED' or (r.status = 'HELD' and r.expires_at > now()))
        group by r.schedule_id, u.n having count(*) > 1`,
    ),
    (o) => `seats in two live reservations: ${JSON.stringify(o)}`,
  );
  check(
    'every sold seat belongs to its CONFIRMED reservation',
    await rows(
      `select r.id as reservation_id, u.n, s.status, s.reservation_id as seat_reservation
         from reservation r cross join unnest(r.seat_numbers) as u(n)
         join seat s on s.schedule_id = r.schedule_id and s.number = u.n
        where r.concert_id = any(?::bigint[]) and r.status = 'CONFIRMED' and (s.status <> 'RESERVED' or s.reservation_id is distinct from r.id)
       union all
       select s.reservation_id, s.number, s.status, s.reservation_id
         from seat s join schedule d on d.id = s.schedule_id left join reservation r on r.id = s.reservation_id
        where d.concert_id = any(?::bigint[]) and s.status = 'RESERVED' and r.status is distinct from 'CONFIRMED'`,
      [ids, ids],
    ),
    (o) => `seats and reservations disagree: ${JSON.stringify(o)}`,
  );

  // 3. every CONFIRMED reservation has exactly one payment of its total, and only those have payments
  check(
    'every CONFIRMED reservation is paid once with its total',
    await rows(
      `select r.id, r.status, r.total_price, count(p.id) as payments, sum(p.amount) as paid
         from reservation r left join payment p on p.reservation_id = r.id
        where r.concert_id = any(?::bigint[])
        group by r.id
       having (r.status = 'CONFIRMED' and (count(p.id) <> 1 or sum(p.amount) <> r.total_price)) or (r.status <> 'CONFIRMED' and count(p.id) > 0)`,
    ),
    (o) => `reservations paid wrongly: ${JSON.stringify(o)}`,
  );

  // money is conserved per wallet: balance = Σ CHARGE − Σ PAYMENT + Σ REFUND = the last balance_after; payments = PAYMENT entries
  check(
    'money conserved: every wallet balance equals its ledger',
    await rows(
      `select w.user_id, w.balance, l.ledger, l.last_balance
         from wallet w
         join lateral (
           select coalesce(sum(case t.type when 'PAYMENT' then -t.amount else t.amount end), 0) as ledger,
                  (select t2.balance_after from wallet_transaction t2 where t2.wallet_id = w.id order by t2.id desc limit 1) as last_balance
             from wallet_transaction t where t.wallet_id = w.id
         ) l on true
        where w.user_id in (select user_id from queue_token where concert_id = any(?::bigint[]))
          and (w.balance <> l.ledger or w.balance < 0 or l.last_balance is distinct from w.balance)`,
    ),
    (o) => `wallets off their ledger: ${JSON.stringify(o)}`,
  );
  check(
    'money conserved: every payment debited its wallet once',
    await rows(
      // sums per user joined once (hash joins), not two subqueries per user: a run that leaves a million
      // users in line would otherwise spend minutes here
      `select u.user_id, coalesce(p.paid, 0) as paid, coalesce(d.debited, 0) as debited
         from (select distinct user_id from queue_token where concert_id = any(?::bigint[])) u
         left join (select user_id, sum(amount) as paid from payment group by user_id) p on p.user_id = u.user_id
         left join (select w.user_id, sum(t.amount) as debited from wallet_transaction t join wallet w on w.id = t.wallet_id
                     where t.type = 'PAYMENT' group by w.user_id) d on d.user_id = u.user_id
        where coalesce(p.paid, 0) <> coalesce(d.debited, 0)`,
    ),
    (o) => `payments and debits disagree: ${JSON.stringify(o)}`,
  );

  // no won seat lost: what the API said was paid is CONFIRMED with that amount
  const paidIds = facts.paid.map((p) => p.reservationId);
  const confirmed = new Map(
    (
      await query<{ id: string; amount: string }>(
        `select r.id, p.amount from reservation r join payment p on p.reservation_id = r.id
          where r.status = 'CONFIRMED' and r.id = any(?::bigint[])`,
        [`{${paidIds.join(',')}}`],
      )
    ).map((r) => [String(r.id), Number(r.amount)]),
  );
  check(
    'every payment the API confirmed is in the database',
    facts.paid.filter((p) => confirmed.get(p.reservationId) !== p.amount),
    (o) => `paid but not CONFIRMED with that amount: ${JSON.stringify(o)}`,
  );

  // 4. capacity and FIFO
  check(
    'ACTIVE tokens never above maxActive (sampled during the run)',
    facts.activeSamples.filter((s) => s.max > s.maxActive),
    (o) => `over capacity: ${JSON.stringify(o)}`,
  );
  check(
    'tokens admitted in ticket order',
    await rows(
      `select concert_id, ticket, activated_at, previous from (
         select concert_id, ticket, activated_at, max(activated_at) over (partition by concert_id order by ticket rows between unbounded preceding and 1 preceding) as previous
           from queue_token where concert_id = any(?::bigint[]) and activated_at is not null
       ) t where activated_at < previous`,
    ),
    (o) => `admitted before an earlier ticket: ${JSON.stringify(o)}`,
  );

  const samples = facts.activeSamples.reduce((n, s) => n + s.samples, 0);
  const capacity = checks.find((c) => c.name.startsWith('ACTIVE tokens'));
  if (capacity?.passed) capacity.detail = `ok (max ${Math.max(0, ...facts.activeSamples.map((s) => s.max))} in ${samples} samples)`;
  return { passed: checks.every((c) => c.passed), checks };
}
