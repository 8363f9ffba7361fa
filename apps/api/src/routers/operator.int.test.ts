/** The operator's procedures behind the operator role, the development sign-in, and the web app's static serving. */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TRPCError } from '@trpc/server';
import { admitQueue, createConcert, createIdentityVerifier, devSignInFor, manualClock, noJobs } from '@frontrow/core';
import { testSettings } from '@frontrow/core/testing';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { callerContext, type InnerContext } from '../context.ts';
import { reasonOf } from '../errors.ts';
import { appRouter } from '../router.ts';
import { buildServer } from '../server.ts';
import { createCallerFactory } from '../trpc.ts';
import { TEST_AUTH_SECRET, signIn, testInnerContext } from '../testing.ts';

let db: TestDatabase;
let inner: InnerContext;
const clock = manualClock(new Date('2030-01-01T00:00:00Z'));
const createCaller = createCallerFactory(appRouter);

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
  inner = testInnerContext(db.orm, { clock, devSignIn: devSignInFor({ devSecret: TEST_AUTH_SECRET }) });
});
afterAll(async () => {
  await db?.drop();
});

async function outcome(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'OK';
  } catch (error) {
    if (error instanceof TRPCError) return `${error.code}/${reasonOf(error)}`;
    throw error;
  }
}

async function concert(maxActive = 1): Promise<string> {
  const deps = { em: db.orm.em, clock, jobs: noJobs, settings: testSettings };
  return (await createConcert(deps, { title: 'Ops Live', venue: 'Hall', dates: ['2099-08-01'], maxActive })).concertId;
}

describe('operator router', () => {
  it("answers an operator's token only: AUTH_MISSING without one, NOT_OPERATOR for a person's", async () => {
    const concertId = await concert();
    const anonymous = createCaller(callerContext(inner));
    const person = createCaller(callerContext(inner, await signIn('person')));
    const ops = createCaller(callerContext(inner, await signIn('ops', TEST_AUTH_SECRET, { operator: true })));
    for (const [caller, expected] of [
      [anonymous, 'UNAUTHORIZED/AUTH_MISSING'],
      [person, 'FORBIDDEN/NOT_OPERATOR'],
      [ops, 'OK'],
    ] as const) {
      expect(await outcome(() => caller.operator.concerts())).toBe(expected);
      expect(await outcome(() => caller.operator.stats({ concertId }))).toBe(expected);
      expect(await outcome(() => caller.operator.configure({ concertId }))).toBe(expected);
      expect(await outcome(() => caller.operator.pause({ concertId }))).toBe(expected);
      expect(await outcome(() => caller.operator.resume({ concertId }))).toBe(expected);
    }
    // closing is for good: refused to others, then the operator's
    expect(await outcome(() => anonymous.operator.closeSales({ concertId }))).toBe('UNAUTHORIZED/AUTH_MISSING');
    expect(await outcome(() => person.operator.closeSales({ concertId }))).toBe('FORBIDDEN/NOT_OPERATOR');
    expect(await outcome(() => ops.operator.closeSales({ concertId }))).toBe('OK');
  });

  it("stats: the queue's figures (queue status's) and the seats held and sold now, a lapsed hold counted available", async () => {
    const concertId = await concert(1);
    const ops = createCaller(callerContext(inner, await signIn('ops', TEST_AUTH_SECRET, { operator: true })));
    const users = await Promise.all([signIn(), signIn()]);
    const tickets = [];
    for (const user of users) tickets.push(await createCaller(callerContext(inner, user)).queue.enter({ concertId }));
    await admitQueue({ em: db.orm.em, clock, jobs: noJobs, settings: testSettings }, { concertId });
    const [first] = users;
    if (!first || !tickets[0]) throw new Error('no user');
    const holder = createCaller(callerContext(inner, { authorization: first.authorization, queueToken: tickets[0].token }));
    await holder.reservations.hold({ concertId, date: '2099-08-01', seatNumbers: [1, 2] });
    const stats = await ops.operator.stats({ concertId });
    expect(stats).toMatchObject({
      concertId,
      waiting: 1,
      active: 1,
      maxActive: 1,
      admittedLastMinute: 1,
      seats: { available: 48, held: 2, sold: 0 },
    });
    clock.advance((testSettings.holdTtlSeconds + 1) * 1000);
    expect((await ops.operator.stats({ concertId })).seats).toEqual({ available: 50, held: 0, sold: 0 });
    expect(await outcome(() => ops.operator.stats({ concertId: '999999' }))).toBe('NOT_FOUND/CONCERT_NOT_FOUND');
    expect(await outcome(() => ops.operator.stats({ concertId: 'x' }))).toBe('BAD_REQUEST/VALIDATION');
  });

  it("configure: sets a concert's capacity (core's configureQueue), within its bounds", async () => {
    const concertId = await concert(3);
    const ops = createCaller(callerContext(inner, await signIn('ops', TEST_AUTH_SECRET, { operator: true })));
    expect(await ops.operator.configure({ concertId, maxActive: 7 })).toMatchObject({
      concertId,
      maxActive: 7,
      activeTtlSeconds: expect.any(Number),
    });
    expect((await ops.operator.stats({ concertId })).maxActive).toBe(7);
    expect(await outcome(() => ops.operator.configure({ concertId, maxActive: 0 }))).toBe('BAD_REQUEST/VALIDATION');
  });

  it('configure: the admission cap and the arrival window, within their bounds, shown by stats', async () => {
    const concertId = await concert(3);
    const ops = createCaller(callerContext(inner, await signIn('ops', TEST_AUTH_SECRET, { operator: true })));
    expect(await ops.operator.configure({ concertId, admitPerMinute: 30, arrivalSeconds: 90 })).toMatchObject({
      concertId,
      admitPerMinute: 30,
      arrivalSeconds: 90,
    });
    expect(await ops.operator.stats({ concertId })).toMatchObject({ admitPerMinute: 30, arrivalSeconds: 90 });
    expect((await ops.operator.configure({ concertId, admitPerMinute: 0 })).admitPerMinute).toBeNull(); // 0 removes the cap
    expect(await outcome(() => ops.operator.configure({ concertId, arrivalSeconds: 0 }))).toBe('BAD_REQUEST/VALIDATION');
    expect(await outcome(() => ops.operator.configure({ concertId, admitPerMinute: -1 }))).toBe('BAD_REQUEST/VALIDATION');
    expect(await outcome(() => ops.operator.configure({ concertId: '999999', arrivalSeconds: 5 }))).toBe('NOT_FOUND/CONCERT_NOT_FOUND');
  });

  it('pause and resume: a paused concert admits nobody and its waiting ticket reads paused; resume lets the line move', async () => {
    const deps = { em: db.orm.em, clock, jobs: noJobs, settings: testSettings };
    const concertId = await concert(1);
    const ops = createCaller(callerContext(inner, await signIn('ops', TEST_AUTH_SECRET, { operator: true })));
    const user = await signIn();
    const ticket = await createCaller(callerContext(inner, user)).queue.enter({ concertId });
    const waiter = createCaller(callerContext(inner, { authorization: user.authorization, queueToken: ticket.token }));
    expect(await ops.operator.pause({ concertId })).toEqual({ concertId, paused: true });
    expect((await ops.operator.stats({ concertId })).paused).toBe(true);
    await admitQueue(deps, { concertId });
    expect(await waiter.queue.status()).toMatchObject({ status: 'WAITING', paused: true, estimatedWaitSeconds: null });
    expect(await ops.operator.resume({ concertId })).toEqual({ concertId, paused: false });
    await admitQueue(deps, { concertId });
    expect(await waiter.queue.status()).toMatchObject({ status: 'ACTIVE', paused: false });
    expect(await outcome(() => ops.operator.pause({ concertId: '999999' }))).toBe('NOT_FOUND/CONCERT_NOT_FOUND');
    expect(await outcome(() => ops.operator.resume({ concertId: 'x' }))).toBe('BAD_REQUEST/VALIDATION');
  });

  it('closeSales: the waiting tickets end with SALES_CLOSED, new entries are refused, stats say closed; again keeps the first time', async () => {
    const concertId = await concert(1);
    const ops = createCaller(callerContext(inner, await signIn('ops', TEST_AUTH_SECRET, { operator: true })));
    const user = await signIn();
    const ticket = await createCaller(callerContext(inner, user)).queue.enter({ concertId });
    const waiter = createCaller(callerContext(inner, { authorization: user.authorization, queueToken: ticket.token }));
    const closed = await ops.operator.closeSales({ concertId });
    expect(closed).toEqual({ concertId, salesClosedAt: clock.now().toISOString(), expired: 1 });
    expect(await waiter.queue.status()).toMatchObject({ status: 'EXPIRED', expiredReason: 'SALES_CLOSED' });
    expect(await outcome(() => createCaller(callerContext(inner, user)).queue.enter({ concertId }))).toBe('CONFLICT/SALES_CLOSED');
    expect((await ops.operator.stats({ concertId })).salesClosedAt).toBe(closed.salesClosedAt);
    clock.advance(1000);
    expect(await ops.operator.closeSales({ concertId })).toEqual({ ...closed, expired: 0 });
  });
});

describe('auth.devSignIn', () => {
  it("mints a person's development token for a name, never an operator's; names are 1…64 characters", async () => {
    const caller = createCaller(callerContext(inner));
    const { token, userId } = await caller.auth.devSignIn({ name: '  Alice  ' });
    const identity = await inner.identities.verify(token);
    expect(identity).toMatchObject({ subject: 'Alice', userId, operator: false });
    expect(await outcome(() => caller.auth.devSignIn({ name: '   ' }))).toBe('BAD_REQUEST/VALIDATION');
    expect(await outcome(() => caller.auth.devSignIn({ name: 'x'.repeat(65) }))).toBe('BAD_REQUEST/VALIDATION');
  });

  it('is DEV_SIGN_IN_DISABLED where the API trusts an identity provider (devSignInFor gives none then)', async () => {
    const provider = {
      jwks: new URL('https://id.example.com/.well-known/jwks.json'),
      issuer: 'https://id.example.com/',
      audience: 'frontrow',
    };
    const withProvider = devSignInFor({ provider, devSecret: TEST_AUTH_SECRET });
    expect(withProvider).toBeUndefined();
    const production = { ...inner, devSignIn: withProvider, identities: createIdentityVerifier({ provider, devSecret: TEST_AUTH_SECRET }) };
    expect(await outcome(() => createCaller(callerContext(production)).auth.devSignIn({ name: 'mallory' }))).toBe(
      'NOT_FOUND/DEV_SIGN_IN_DISABLED',
    );
  });
});

describe('the web app, served by the API', () => {
  it('serves / and /console from a build, hashed assets cached for a year; nothing without a build', async () => {
    const root = await mkdtemp(join(tmpdir(), 'frontrow-webroot-'));
    try {
      await mkdir(join(root, 'assets'));
      await writeFile(join(root, 'index.html'), '<title>waiting room</title>');
      await writeFile(join(root, 'console.html'), '<title>console</title>');
      await writeFile(join(root, 'assets', 'app-abc123.js'), 'console.log(1)');
      const app = await buildServer({ orm: db.orm, inner, webRoot: root });
      const page = await app.inject({ url: '/' });
      expect([page.statusCode, page.body, page.headers['cache-control']]).toEqual([200, '<title>waiting room</title>', 'no-cache']);
      expect((await app.inject({ url: '/console' })).body).toBe('<title>console</title>');
      const asset = await app.inject({ url: '/assets/app-abc123.js' });
      expect([asset.statusCode, asset.headers['cache-control']]).toEqual([200, 'public, max-age=31536000, immutable']);
      expect((await app.inject({ url: '/assets/../index.html' })).statusCode).not.toBe(200);
      expect((await app.inject({ url: '/trpc/concerts.list' })).statusCode).toBe(200);
      await app.close();

      const empty = await mkdtemp(join(tmpdir(), 'frontrow-webroot-'));
      const bare = await buildServer({ orm: db.orm, inner, webRoot: empty });
      expect((await bare.inject({ url: '/' })).statusCode).toBe(404);
      expect((await bare.inject({ url: '/trpc/concerts.list' })).statusCode).toBe(200);
      await bare.close();
      await rm(empty, { recursive: true });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
