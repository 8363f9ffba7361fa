/**
 * The web app in a real browser (headless Chromium) against a real API and PostgreSQL: the purchase from
 * the waiting room to the confirmation, two people racing for one seat, a hold lapsing in front of the
 * user, a reload that keeps the place in line, the operators' console (capacity, pause and resume, closing the
 * sale), a pre-queue counting down to its opening, and the polling fallback when the server's streams are full.
 * Admission is the worker's round, run here by the test every 200 ms.
 */
import { rm } from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildServer } from '@frontrow/api';
import { createFrontRowClient } from '@frontrow/api-client';
import {
  DEFAULT_OPERATOR_ROLE,
  WatchRegistry,
  admitQueue,
  configureQueue,
  createConcert,
  createIdentityVerifier,
  createTokenSigner,
  devSignInFor,
  mintDevIdentityToken,
  noJobs,
  queueStats,
  systemClock,
} from '@frontrow/core';
import { testSettings } from '@frontrow/core/testing';
import { type TestDatabase, createTestDatabase } from '@frontrow/db/testing';
import { PHONE, buildWebApp, launchBrowser, removeTemporaryScreenshots, screenshot } from './browser.ts';

const AUTH_SECRET = 'web-browser-test-auth-secret-of-32-characters';
const QUEUE_SECRET = 'web-browser-test-queue-secret-of-32-characters';
/** The short hold of the second server, for the hold that lapses in front of the user. */
const SHORT_HOLD_SECONDS = 4;

let db: TestDatabase;
let webRoot: string;
let browser: Browser;
const servers: Awaited<ReturnType<typeof buildServer>>[] = [];
let url: string;
let shortHoldUrl: string;
/** A server with room for one queue.watch stream (WATCH_MAX_STREAMS=1), for the polling fallback. */
let oneStreamUrl: string;
/** Admission rounds run so far: a test waits for rounds to pass, never for time. */
let rounds = 0;
const concerts: string[] = [];
let admitter: ReturnType<typeof setInterval> | undefined;
const deps = (settings = testSettings) => ({ em: db.orm.em, clock: systemClock, jobs: noJobs, settings });

async function server(settings = testSettings, watches?: WatchRegistry): Promise<string> {
  const app = await buildServer({
    orm: db.orm,
    inner: {
      ...deps(settings),
      ...(watches ? { watches } : {}),
      tokens: createTokenSigner(QUEUE_SECRET),
      identities: createIdentityVerifier({ devSecret: AUTH_SECRET }),
      devSignIn: devSignInFor({ devSecret: AUTH_SECRET }),
    },
    webRoot,
  });
  servers.push(app);
  return await app.listen({ host: '127.0.0.1', port: 0 });
}

beforeAll(async () => {
  [webRoot, browser] = await Promise.all([buildWebApp(), launchBrowser()]);
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 10 });
  url = await server();
  shortHoldUrl = await server({ ...testSettings, holdTtlSeconds: SHORT_HOLD_SECONDS });
  oneStreamUrl = await server(testSettings, new WatchRegistry(1));
  // the worker's admission round, for the concerts of this file
  let running = false;
  admitter = setInterval(async () => {
    if (running) return;
    running = true;
    try {
      for (const concertId of concerts) await admitQueue(deps(), { concertId });
      rounds += 1;
    } finally {
      running = false;
    }
  }, 200);
}, 600_000);

afterAll(async () => {
  if (admitter) clearInterval(admitter);
  await browser?.close();
  for (const app of servers) await app.close();
  await db?.drop();
  if (webRoot) await rm(webRoot, { recursive: true, force: true });
  await removeTemporaryScreenshots();
});

async function concert(title: string, maxActive: number, salesOpenAt?: string): Promise<string> {
  const { concertId } = await createConcert(deps(), {
    title,
    venue: 'Olympic Hall',
    dates: ['2099-08-01', '2099-08-02'],
    maxActive,
    price: 50_000,
    ...(salesOpenAt ? { salesOpenAt } : {}),
  });
  concerts.push(concertId);
  return concertId;
}

/** Someone who got in first, through the API: holds an ACTIVE place (or waits) so the page's user waits. */
async function someoneElse(concertId: string, base = url) {
  const client = createFrontRowClient({
    url: base,
    identityToken: await mintDevIdentityToken(AUTH_SECRET, { subject: crypto.randomUUID() }),
  });
  const ticket = await client.queue.enter.mutate({ concertId });
  client.setQueueToken(ticket.token);
  return client;
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** `n` more admission rounds have run (each over every concert of this file). */
async function roundsPass(n: number): Promise<void> {
  const target = rounds + n;
  await until(async () => rounds >= target, `${n} admission rounds`);
}

/** The console, signed in as an operator, on `concertId`'s figures. */
async function openConsole(concertId: string): Promise<{ context: BrowserContext; page: Page }> {
  const operator = await mintDevIdentityToken(AUTH_SECRET, { subject: 'ops', operator: DEFAULT_OPERATOR_ROLE });
  const opened = await newPage(url, { width: 1000, height: 900 });
  await opened.page.goto('/console');
  await opened.page.getByLabel('Operator token').fill(operator);
  await opened.page.getByRole('button', { name: 'Open the console' }).click();
  await opened.page.getByLabel('Concert').selectOption(concertId);
  // the first reading of the figures (a failure would be the console's alert, shown in the message)
  await expect
    .poll(async () => `${await opened.page.locator('#sale-state').textContent()}${await opened.page.locator('.error').textContent()}`, {
      timeout: 10_000,
    })
    .toMatch(/^(Admitting|Admission paused|Pre-queue|Sold out|Sales closed)/);
  return opened;
}

/** A console control: its button, then Confirm in the confirmation that names what it does. */
async function control(page: Page, button: string, confirmation: string | RegExp): Promise<void> {
  await page.getByRole('button', { name: button }).click();
  await expect.poll(() => page.getByRole('alertdialog').textContent()).toMatch(confirmation);
  await page.getByRole('button', { name: 'Confirm' }).click();
}

async function newPage(base = url, viewport = PHONE): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport, baseURL: base });
  const page = await context.newPage();
  return { context, page };
}

async function signInAndJoin(page: Page, name: string, title: string): Promise<void> {
  await page.goto('/');
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: `Join the line for ${title}` }).click();
}

const seat = (page: Page, number: number) => page.locator(`.seat-map [data-seat="${number}"]`);

describe('the web app in a browser', () => {
  it('a full purchase: waiting room (one stream, no polling) → seat map → hold → wallet → pay → confirmation', async () => {
    const concertId = await concert('Waiting Room Live', 1);
    const first = await someoneElse(concertId);
    await until(async () => (await first.queue.status.query()).status === 'ACTIVE', 'the first person to be admitted');

    const { context, page } = await newPage();
    const calls: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/trpc/')) calls.push(new URL(request.url()).pathname.replace('/trpc/', ''));
    });
    await signInAndJoin(page, 'alice', 'Waiting Room Live');
    await expect.poll(() => page.locator('.position').textContent()).toBe('1');
    await expect.poll(() => page.locator('.detail').textContent()).toMatch(/^Estimated wait: /);
    await screenshot(page, 'waiting-room');
    // while waiting: one queue.watch stream and no polling of queue.status
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(calls.filter((c) => c === 'queue.watch')).toHaveLength(1);
    expect(calls.filter((c) => c.includes('queue.status'))).toHaveLength(0);

    await first.queue.leave.mutate(); // the place frees: the admitter lets alice in
    await seat(page, 7).waitFor();
    await expect.poll(() => page.locator('.seat-map .seat').count()).toBe(50);
    await screenshot(page, 'seat-map');

    await seat(page, 7).click();
    await seat(page, 8).press('Enter'); // the keyboard works as the mouse does
    expect(await seat(page, 8).getAttribute('aria-pressed')).toBe('true');
    await page.getByRole('button', { name: 'Hold seats' }).click();
    await page.getByRole('timer').waitFor();
    expect(await page.getByRole('timer').textContent()).toMatch(/^Time left to pay: [45]:\d\d$/);
    expect(await seat(page, 7).getAttribute('aria-label')).toBe('Seat 7, held for you, ₩50,000');
    await page.getByRole('button', { name: 'Add ₩100,000 to wallet' }).click();
    await page.getByText('Wallet: ₩100,000').waitFor();
    await screenshot(page, 'hold');
    await page.getByRole('button', { name: 'Pay ₩100,000' }).click();
    await page.getByRole('heading', { name: 'You are going!' }).waitFor();
    expect(await page.locator('.receipt .seats').textContent()).toBe('7, 8');
    await screenshot(page, 'confirmation');

    // the API agrees: alice owns seats 7 and 8, paid
    const alice = createFrontRowClient({ url, identityToken: await mintDevIdentityToken(AUTH_SECRET, { subject: 'alice' }) });
    const [mine] = await alice.reservations.mine.query();
    expect(mine).toMatchObject({ concertId, seatNumbers: [7, 8], status: 'CONFIRMED' });
    await context.close();
  });

  it('two people race for one seat: one holds it, the other reads a sentence and a refreshed map', async () => {
    await concert('Race Night', 2);
    const [bob, carol] = await Promise.all([newPage(), newPage()]);
    await Promise.all([signInAndJoin(bob.page, 'bob', 'Race Night'), signInAndJoin(carol.page, 'carol', 'Race Night')]);
    await Promise.all([seat(bob.page, 7).click(), seat(carol.page, 7).click()]);
    await Promise.all([
      bob.page.getByRole('button', { name: 'Hold seats' }).click(),
      carol.page.getByRole('button', { name: 'Hold seats' }).click(),
    ]);
    await until(async () => (await bob.page.locator('[role=timer], .error:not(:empty)').count()) > 0, "bob's answer");
    await until(async () => (await carol.page.locator('[role=timer], .error:not(:empty)').count()) > 0, "carol's answer");
    const [bobHeld, carolHeld] = await Promise.all([bob.page.getByRole('timer').count(), carol.page.getByRole('timer').count()]);
    expect(bobHeld + carolHeld).toBe(1); // exactly one of them holds seat 7
    const loser = bobHeld === 1 ? carol.page : bob.page;
    await expect
      .poll(() => loser.getByRole('alert').textContent())
      .toBe('Someone else just took one of those seats. The map is up to date now: please pick again.');
    await expect.poll(() => seat(loser, 7).getAttribute('class')).toContain('HELD');
    expect(await seat(loser, 7).isDisabled()).toBe(true);
    await screenshot(loser, 'seat-taken');
    await Promise.all([bob.context.close(), carol.context.close()]);
  });

  it('a hold lapses in front of the user: the countdown reaches zero, a sentence says so, the seats are free again', async () => {
    await concert('Short Hold', 5);
    const { context, page } = await newPage(shortHoldUrl);
    await signInAndJoin(page, 'dave', 'Short Hold');
    await seat(page, 12).click();
    await page.getByRole('button', { name: 'Hold seats' }).click();
    await page.getByRole('timer').waitFor();
    expect(await page.getByRole('timer').textContent()).toMatch(/^Time left to pay: 0:0[0-4]$/);
    await expect
      .poll(() => page.getByRole('alert').textContent(), { timeout: (SHORT_HOLD_SECONDS + 5) * 1000 })
      .toBe('Your hold ran out, so the seats went back on sale. Please pick seats again.');
    await expect.poll(() => seat(page, 12).getAttribute('class')).toContain('AVAILABLE');
    expect(await seat(page, 12).isEnabled()).toBe(true);
    await screenshot(page, 'hold-lapsed');
    await context.close();
  });

  it('a reload while waiting keeps the place: same token, same number, no second queue.enter', async () => {
    const concertId = await concert('Reload Hall', 1);
    const first = await someoneElse(concertId);
    await until(async () => (await first.queue.status.query()).status === 'ACTIVE', 'the first person to be admitted');
    await someoneElse(concertId); // waits at place 1
    const { context, page } = await newPage();
    await signInAndJoin(page, 'erin', 'Reload Hall');
    await expect.poll(() => page.locator('.position').textContent()).toBe('2');
    const token = await page.evaluate(() => sessionStorage.getItem('frontrow.ticket'));
    const entered: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('queue.enter')) entered.push(request.url());
    });
    await page.reload();
    await expect.poll(() => page.locator('.position').textContent()).toBe('2');
    expect(await page.evaluate(() => sessionStorage.getItem('frontrow.ticket'))).toBe(token);
    expect(entered).toEqual([]);
    expect((await queueStats(deps(), { concertId })).waiting).toBe(2);
    await context.close();
  });

  it('a dropped network while waiting: the page says it is reconnecting, then goes on from the same place', async () => {
    const concertId = await concert('Flaky Network Hall', 1);
    const first = await someoneElse(concertId);
    await until(async () => (await first.queue.status.query()).status === 'ACTIVE', 'the first person to be admitted');
    await someoneElse(concertId); // waits at place 1
    const { context, page } = await newPage();
    await signInAndJoin(page, 'frank', 'Flaky Network Hall');
    await expect.poll(() => page.locator('.position').textContent()).toBe('2');
    const leaveButton = page.getByRole('button', { name: 'Leave the line for Flaky Network Hall' });
    const buttonAt = await leaveButton.boundingBox();
    // the stream drops (its connection cut by the server side) while the browser is offline, so its
    // reconnections fail until the network is back
    await context.setOffline(true);
    servers[0]?.server.closeAllConnections();
    await expect.poll(() => page.locator('.connection').textContent(), { timeout: 10_000 }).toBe('Reconnecting… you keep your place.');
    await screenshot(page, 'reconnecting');
    expect(await leaveButton.boundingBox()).toEqual(buttonAt); // the message took no room of its own
    await first.queue.leave.mutate(); // the line moves while frank is offline: the second is admitted
    await context.setOffline(false);
    await expect.poll(() => page.locator('.position').textContent(), { timeout: 15_000 }).toBe('1');
    await expect.poll(() => page.locator('.connection').textContent()).toBe('');
    // no layout jump: the message came and went and the place changed, and nothing below moved
    expect(await leaveButton.boundingBox()).toEqual(buttonAt);
    expect((await queueStats(deps(), { concertId })).waiting).toBe(1);
    await context.close();
  });

  it('a sign-in that ran out sends the person back to sign in, saying why, and signing in again goes on', async () => {
    await concert('Expired Sign-in Club', 5);
    const { context, page } = await newPage();
    await page.goto('/');
    // an identity token that no longer verifies (as one past its exp)
    await page.evaluate(() => sessionStorage.setItem('frontrow.identity', JSON.stringify('eyJhbGciOiJIUzI1NiJ9.e30.bm9wZQ')));
    await page.reload();
    await page.getByRole('button', { name: 'Join the line for Expired Sign-in Club' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('Your sign-in has run out. Please sign in again.');
    await page.getByLabel('Your name').fill('gina');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Join the line for Expired Sign-in Club' }).click();
    await seat(page, 1).waitFor();
    await context.close();
  });

  it("the console, with an operator's token, shows a concert's figures and changes its capacity after a confirmation", async () => {
    const concertId = await concert('Console Arena', 3);
    await someoneElse(concertId);
    const operator = await mintDevIdentityToken(AUTH_SECRET, { subject: 'ops', operator: DEFAULT_OPERATOR_ROLE });
    const { context, page } = await newPage(url, { width: 1000, height: 700 });
    await page.goto('/console');
    await page.getByLabel('Operator token').fill(operator);
    await page.getByRole('button', { name: 'Open the console' }).click();
    await page.getByLabel('Concert').selectOption(concertId);
    await expect.poll(() => page.locator('#figure-active').textContent()).toBe('1 / 3');
    expect(await page.locator('#figure-waiting').textContent()).toBe('0');
    // the crowd's figures: nobody in a pre-queue, no no-shows; admission running, uncapped
    expect(await page.locator('#figure-pre-queue').textContent()).toBe('0');
    expect(await page.locator('#figure-no-shows').textContent()).toBe('0');
    expect(await page.locator('#sale-state').textContent()).toMatch(/^Admitting \(no admission cap; arrival window \d+ s\)$/);
    // three readings (every 2 s) draw the charts of the screenshot
    await expect
      .poll(async () => (await page.locator('.figure:not([hidden]) polyline').first().getAttribute('points'))?.split(' ').length ?? 0, {
        timeout: 10_000,
      })
      .toBeGreaterThanOrEqual(3);
    await page.getByLabel('Users admitted at once').fill('7');
    await page.getByRole('button', { name: 'Apply capacity' }).click();
    await expect
      .poll(() => page.getByRole('alertdialog').textContent())
      .toContain(`Change the capacity of concert ${concertId} from 3 to 7?`);
    await screenshot(page, 'console');
    expect((await queueStats(deps(), { concertId })).maxActive).toBe(3); // nothing before the confirmation
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByText('Done.').waitFor();
    expect((await queueStats(deps(), { concertId })).maxActive).toBe(7);
    await expect.poll(() => page.locator('#figure-active').textContent()).toBe('1 / 7');
    await context.close();
  });

  it("the console refuses a person's token that is not an operator's, with a sentence", async () => {
    const { context, page } = await newPage();
    await page.goto('/console');
    await page.getByLabel('Operator token').fill(await mintDevIdentityToken(AUTH_SECRET, { subject: 'not-ops' }));
    await page.getByRole('button', { name: 'Open the console' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toBe('This page is for operators. Please sign in with an operator account.');
    await context.close();
  });

  it('the console pauses admission and the waiting page shows it; resuming lets the line move', async () => {
    const concertId = await concert('Pause Hall', 1);
    const first = await someoneElse(concertId);
    await until(async () => (await first.queue.status.query()).status === 'ACTIVE', 'the first person to be admitted');
    const { context, page } = await newPage();
    await signInAndJoin(page, 'hana', 'Pause Hall');
    await expect.poll(() => page.locator('.position').textContent()).toBe('1');
    const ops = await openConsole(concertId);
    await control(
      ops.page,
      'Pause admission',
      `Pause admission for concert ${concertId}? Nobody more is let in until you resume; the 1 waiting keep their places.`,
    );
    await ops.page.getByRole('button', { name: 'Resume admission' }).waitFor();
    expect(await ops.page.locator('#sale-state').textContent()).toBe('Admission paused (no admission cap)');
    await screenshot(ops.page, 'console-paused');

    await expect.poll(() => page.locator('.detail').textContent()).toBe('The line is paused for a moment. You keep your place.');
    expect(await page.locator('.position').textContent()).toBe('1'); // the place is kept
    await screenshot(page, 'paused');
    // the place ahead frees, yet nobody is let in while paused
    await first.queue.leave.mutate();
    await roundsPass(3);
    expect((await queueStats(deps(), { concertId })).active).toBe(0);
    expect(await page.locator('.detail').textContent()).toBe('The line is paused for a moment. You keep your place.');

    await control(ops.page, 'Resume admission', `Resume admission for concert ${concertId}? The line moves again at once.`);
    await seat(page, 1).waitFor(); // admitted: the seat map
    await Promise.all([context.close(), ops.context.close()]);
  });

  it('a pre-queue concert counts down to the opening (and the console counts the pre-queue), then the sale opens', async () => {
    const opensAt = new Date(Date.now() + 10 * 60_000).toISOString();
    const concertId = await concert('Opening Night', 5, opensAt);
    const { context, page } = await newPage();
    await signInAndJoin(page, 'ivan', 'Opening Night');
    await expect.poll(() => page.locator('#app').getAttribute('data-state')).toBe('pre-queue');
    expect(await page.locator('.headline').textContent()).toBe('You are in. The sale has not opened yet.');
    const first = await page.locator('.detail').textContent();
    expect(first).toMatch(/^It opens in (9:5\d|10:00); then everyone here gets a place in a fair random order\.$/);
    // it counts down: the page redraws the countdown once a second, so the wait allows more than one tick
    // (expect.poll's default of 1 s can end just before the first)
    await expect.poll(() => page.locator('.detail').textContent(), { timeout: 3_000 }).not.toBe(first);
    await screenshot(page, 'pre-queue');

    const ops = await openConsole(concertId);
    await expect.poll(() => ops.page.locator('#figure-pre-queue').textContent()).toBe('1');
    expect(await ops.page.locator('#sale-state').textContent()).toMatch(/^Pre-queue: the sale opens at /);
    await ops.context.close();

    // the opening comes: the admission round deals the pre-queue its places and lets ivan in
    await configureQueue(deps(), { concertId, salesOpenAt: new Date().toISOString() });
    await seat(page, 1).waitFor();
    await context.close();
  });

  it('closing the sale in the console ends the line: the waiting page shows the sales-closed sentence', async () => {
    const concertId = await concert('Closing Time', 1);
    const first = await someoneElse(concertId);
    await until(async () => (await first.queue.status.query()).status === 'ACTIVE', 'the first person to be admitted');
    const { context, page } = await newPage();
    await signInAndJoin(page, 'jin', 'Closing Time');
    await expect.poll(() => page.locator('.position').textContent()).toBe('1');
    const ops = await openConsole(concertId);
    await control(ops.page, 'Close sales', /^Close sales for concert \d+ for good\? New entries are refused and the 1 waiting are let go/);
    await expect.poll(() => ops.page.locator('#sale-state').textContent()).toMatch(/^Sales closed at /);
    expect(await ops.page.getByRole('button', { name: 'Pause admission' }).count()).toBe(0); // nothing left to pause

    await expect.poll(() => page.locator('.headline').textContent()).toBe('Sales have closed.');
    expect(await page.locator('.detail').textContent()).toBe('Sales for this concert have closed.');
    await screenshot(page, 'sales-closed');
    // the one admitted before the close can still buy
    expect((await first.queue.status.query()).status).toBe('ACTIVE');
    await Promise.all([context.close(), ops.context.close()]);
  });

  it("the server's streams are full (STREAM_LIMIT): the page polls queue.status, says so calmly, and goes back to the stream", async () => {
    const concertId = await concert('Full House Streams', 1);
    const first = await someoneElse(concertId, oneStreamUrl);
    await until(async () => (await first.queue.status.query()).status === 'ACTIVE', 'the first person to be admitted');
    // the server's one stream is taken
    let held = false;
    const holder = first.queue.watch.subscribe(undefined, { onData: () => (held = true) });
    await until(async () => held, "the other person's stream");

    const { context, page } = await newPage(oneStreamUrl);
    const calls: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/trpc/')) calls.push(new URL(request.url()).pathname.replace('/trpc/', ''));
    });
    await signInAndJoin(page, 'kim', 'Full House Streams');
    await expect
      .poll(() => page.locator('.connection').textContent())
      .toBe('Live updates are busy, so we check your place every few seconds. You keep your place.');
    await expect.poll(() => page.locator('.position').textContent()).toBe('1');
    expect(await page.locator('.error').textContent()).toBe(''); // not an error
    await expect.poll(() => calls.filter((c) => c.includes('queue.status')).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    await screenshot(page, 'polling');

    // the stream frees: the page takes it back (its first event clears the message) and the line moves on it
    holder.unsubscribe();
    await expect.poll(() => page.locator('.connection').textContent(), { timeout: 20_000 }).toBe('');
    await first.queue.leave.mutate();
    await seat(page, 1).waitFor();
    await context.close();
  });
});
