/**
 * The waiting room and the purchase, in the order a person meets them: sign in, pick a concert, wait in
 * line (live from `queue.watch`: one Server-Sent Events stream per tab, no polling while it is open),
 * then dates, the seat map, a hold with its countdown, the wallet, the payment and the confirmation.
 */
import './style.css';
import type { AppRouter } from '@frontrow/api-client';
import type { inferRouterOutputs } from '@trpc/server';
import { hook, makeClient, session, won } from './api.ts';
import { errorBox, h, show } from './dom.ts';
import { sentenceFor, sentenceForReason } from './errors.ts';
import { type QueueTicket, type TicketView, countdown, describeView, ticketView } from './ticket-view.ts';

type Outputs = inferRouterOutputs<AppRouter>;
type Concert = Outputs['concerts']['list'][number];
type Seat = Outputs['concerts']['seats']['seats'][number];
type Hold = Outputs['reservations']['hold'];

/** The place in line kept in this tab (sessionStorage): a reload or a dropped network keeps it. */
type StoredTicket = { concertId: string; title: string; venue: string; token: string; firstPosition: number | null };

const MAX_SEATS = 4;
/** How often the seat map is read again while a person picks seats (the line's stream is closed by then). */
const SEAT_MAP_REFRESH_MS = 5_000;
/** Without a stream (the server's streams are full: STREAM_LIMIT): `queue.status` this often, and the stream tried again this often. */
const POLL_MS = 3_000;
const STREAM_RETRY_MS = 12_000;

const root = document.querySelector<HTMLElement>('#app') ?? document.body;
const client = makeClient('identity');
/** What the current screen runs (a stream, timers): stopped when the screen changes. */
let stopScreen: () => void = () => {};

function screen(stop: () => void = () => {}): void {
  stopScreen();
  stopScreen = stop;
}

function signedIn(): boolean {
  return hook.identityToken !== undefined || session.get<string>('identity') !== undefined;
}

function start(): void {
  const ticket = session.get<StoredTicket>('ticket');
  if (!signedIn()) signInScreen();
  else if (ticket) waitingRoom(ticket);
  else concertsScreen();
}

/** A failure that means the identity token is gone or ran out: back to the sign-in, with its sentence. */
function reasonOf(failure: unknown): string | undefined {
  return (failure as { data?: { reason?: string } } | null)?.data?.reason;
}

function signInAgainIf(failure: unknown): boolean {
  const reason = reasonOf(failure);
  if (reason !== 'AUTH_INVALID' && reason !== 'AUTH_MISSING') return false;
  session.remove('identity');
  signInScreen(sentenceFor(failure));
  return true;
}

function signInScreen(why?: string): void {
  screen();
  const error = errorBox();
  if (why) error.say(why);
  if (hook.signIn) {
    const signIn = hook.signIn;
    show(root, h('h1', { tabindex: -1 }, 'Sign in'), h('button', { type: 'button', onclick: () => signIn() }, 'Sign in'), error);
    return;
  }
  const name = h('input', { id: 'name', name: 'name', autocomplete: 'nickname', required: true, maxlength: 64 });
  const form = h(
    'form',
    {
      onsubmit: async (event) => {
        event.preventDefault();
        error.say(null);
        try {
          const { token } = await client.auth.devSignIn.mutate({ name: name.value });
          session.set('identity', token);
          session.set('name', name.value.trim());
          concertsScreen();
        } catch (failure) {
          error.say(sentenceFor(failure));
        }
      },
    },
    h('label', { for: 'name' }, 'Your name'),
    name,
    h('button', { type: 'submit' }, 'Sign in'),
  );
  show(root, h('h1', { tabindex: -1 }, 'Sign in'), h('p', {}, 'Development sign-in: any name is a person of its own.'), form, error);
}

async function concertsScreen(): Promise<void> {
  screen();
  const error = errorBox();
  const list = h('ul', { class: 'concerts' });
  show(root, h('h1', { tabindex: -1 }, 'Concerts'), list, error, signOutButton());
  try {
    const concerts = await client.concerts.list.query();
    if (concerts.length === 0) list.append(h('li', {}, 'No concerts on sale.'));
    for (const concert of concerts) {
      list.append(
        h(
          'li',
          {},
          h('h2', {}, concert.title),
          h('p', {}, `${concert.venue} · ${concert.dates.join(', ')}`),
          h('button', { type: 'button', onclick: () => join(concert, error) }, `Join the line for ${concert.title}`),
        ),
      );
    }
  } catch (failure) {
    error.say(sentenceFor(failure));
  }
}

async function join(concert: Concert, error: ReturnType<typeof errorBox>): Promise<void> {
  error.say(null);
  try {
    const ticket = await client.queue.enter.mutate({ concertId: concert.id });
    const stored: StoredTicket = {
      concertId: concert.id,
      title: concert.title,
      venue: concert.venue,
      token: ticket.token,
      firstPosition: ticket.position,
    };
    session.set('ticket', stored);
    waitingRoom(stored);
  } catch (failure) {
    if (!signInAgainIf(failure)) error.say(sentenceFor(failure));
  }
}

function signOutButton(): HTMLButtonElement {
  return h(
    'button',
    {
      type: 'button',
      class: 'link',
      onclick: () => {
        session.remove('identity');
        session.remove('ticket');
        signInScreen();
      },
    },
    'Sign out',
  );
}

/** The waiting room: the ticket's view, live from one `queue.watch` stream. */
function waitingRoom(stored: StoredTicket): void {
  const error = errorBox();
  const headline = h('p', { class: 'headline' });
  const detail = h('p', { class: 'detail' });
  const bar = h('progress', { max: 100, value: 0, 'aria-label': 'Progress through the line' });
  const connection = h('p', { class: 'connection', 'aria-live': 'polite' });
  const actions = h('div', { class: 'actions' });
  const status = h('div', { class: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' }, headline, detail);
  show(root, h('h1', { tabindex: -1 }, stored.title), h('p', {}, stored.venue), status, bar, connection, actions, error);

  let tick: ReturnType<typeof setInterval> | undefined;
  let poller: ReturnType<typeof setInterval> | undefined;
  let subscription: { unsubscribe: () => void } | undefined;
  let done = false;
  client.setQueueToken(stored.token);

  /** The live stream; refused with STREAM_LIMIT (the server's streams are full), the page polls instead. */
  const watch = () => {
    subscription?.unsubscribe();
    subscription = client.queue.watch.subscribe(undefined, {
      onData: ({ data }) => {
        // the stream is open: no polling while it is (one stream per tab)
        if (poller) clearInterval(poller);
        poller = undefined;
        connection.textContent = '';
        render(data);
      },
      onError: (failure) => {
        if (reasonOf(failure) === 'STREAM_LIMIT') return void setTimeout(poll);
        error.say(sentenceFor(failure));
        actions.replaceChildren(joinAgainButton(stored));
      },
      onConnectionStateChange: (state) => {
        if (state.state !== 'connecting' || !state.error) return;
        // STREAM_LIMIT is a 503, which the link would retry at once: poll instead, and try the stream later
        if (reasonOf(state.error) === 'STREAM_LIMIT') return void setTimeout(poll);
        // a dropped stream is reopened by the EventSource; the place is the server's, so it is kept
        connection.textContent = 'Reconnecting… you keep your place.';
      },
    });
  };

  /** queue.status every POLL_MS, and the stream tried again every STREAM_RETRY_MS (it takes over once open). */
  const poll = () => {
    subscription?.unsubscribe();
    subscription = undefined;
    if (poller || done) return;
    connection.textContent = sentenceForReason('STREAM_LIMIT');
    let since = 0;
    const read = async () => {
      since += POLL_MS;
      if (since >= STREAM_RETRY_MS) {
        since = 0;
        watch();
      }
      try {
        const ticket = await client.queue.status.query();
        if (!done) render(ticket);
      } catch (failure) {
        if (!signInAgainIf(failure)) error.say(sentenceFor(failure));
      }
    };
    poller = setInterval(read, POLL_MS);
    void read();
  };

  watch();
  const stopAll = () => {
    done = true;
    subscription?.unsubscribe();
    if (poller) clearInterval(poller);
    poller = undefined;
  };
  screen(() => {
    stopAll();
    if (tick) clearInterval(tick);
  });

  const render = (ticket: QueueTicket) => {
    const view: TicketView = ticketView(ticket);
    if (tick) clearInterval(tick);
    root.dataset.state =
      view.kind === 'waiting' && view.paused ? 'paused' : view.kind === 'expired' && view.expiredReason ? view.expiredReason : view.kind;
    if (view.kind === 'admitted') {
      stopAll();
      booking(stored);
      return;
    }
    const said = describeView(view, new Date());
    headline.textContent = said.headline;
    detail.textContent = said.detail;
    switch (view.kind) {
      case 'pre-queue':
        // the countdown to the opening, every second
        tick = setInterval(() => (detail.textContent = describeView(view, new Date()).detail), 1000);
        bar.value = 0;
        actions.replaceChildren(leaveButton(stored));
        return;
      case 'waiting': {
        headline.append(h('strong', { class: 'position' }, view.position.toLocaleString('en-US')));
        const first = stored.firstPosition ?? view.position;
        bar.value = first > 1 ? Math.round(((first - view.position) / (first - 1)) * 100) : 100;
        actions.replaceChildren(leaveButton(stored));
        return;
      }
      case 'sold-out':
        actions.replaceChildren(leaveButton(stored));
        return;
      case 'completed':
        actions.replaceChildren(backButton());
        return;
      case 'left':
      case 'expired':
        actions.replaceChildren(joinAgainButton(stored));
        return;
    }
  };
}

function leaveButton(stored: StoredTicket): HTMLButtonElement {
  return h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      onclick: async () => {
        await client.queue.leave.mutate().catch(() => undefined);
        forget();
        concertsScreen();
      },
    },
    `Leave the line for ${stored.title}`,
  );
}

function joinAgainButton(stored: StoredTicket): HTMLButtonElement {
  return h(
    'button',
    {
      type: 'button',
      onclick: () => {
        forget();
        join({ id: stored.concertId, title: stored.title, venue: stored.venue, dates: [] }, errorBox());
      },
    },
    'Join the line again',
  );
}

function backButton(): HTMLButtonElement {
  return h(
    'button',
    {
      type: 'button',
      onclick: () => {
        forget();
        concertsScreen();
      },
    },
    'Back to concerts',
  );
}

function forget(): void {
  session.remove('ticket');
  client.setQueueToken(undefined);
}

/** Admitted: dates, the seat map, a hold with its countdown, the wallet, the payment. */
async function booking(stored: StoredTicket): Promise<void> {
  const error = errorBox();
  const dates = h('fieldset', { class: 'dates' }, h('legend', {}, 'Date'));
  const map = h('div', { class: 'seat-map', role: 'group', 'aria-label': 'Seats, stage at the top' });
  const picked = h('p', { class: 'picked', 'aria-live': 'polite' });
  const holdButton = h('button', { type: 'button', disabled: true }, 'Hold seats');
  const panel = h('section', { class: 'hold', 'aria-live': 'polite' });
  const legend = h(
    'ul',
    { class: 'legend' },
    h('li', { class: 'seat AVAILABLE' }, 'Available'),
    h('li', { class: 'seat selected' }, 'Selected'),
    h('li', { class: 'seat HELD' }, 'Held'),
    h('li', { class: 'seat RESERVED' }, 'Sold'),
  );
  show(
    root,
    h('h1', { tabindex: -1 }, `${stored.title}: pick your seats`),
    dates,
    h('div', { class: 'stage' }, 'Stage'),
    map,
    legend,
    picked,
    holdButton,
    error,
    panel,
  );
  root.dataset.state = 'seats';

  let date: string | undefined;
  let seats: Seat[] = [];
  const selected = new Set<number>();
  let hold: Hold | undefined;
  let refresh: ReturnType<typeof setInterval> | undefined;
  let holdTimer: ReturnType<typeof setInterval> | undefined;
  screen(() => {
    if (refresh) clearInterval(refresh);
    if (holdTimer) clearInterval(holdTimer);
  });

  const drawMap = () => {
    map.replaceChildren(
      ...seats.map((seat) => {
        const isSelected = selected.has(seat.number) || (hold?.seatNumbers.includes(seat.number) ?? false);
        const state = seat.status === 'AVAILABLE' ? 'available' : seat.status === 'HELD' ? 'held' : 'sold';
        return h(
          'button',
          {
            type: 'button',
            class: `seat ${seat.status}${isSelected ? ' selected' : ''}`,
            'data-seat': seat.number,
            'aria-pressed': isSelected ? 'true' : 'false',
            'aria-label': `Seat ${seat.number}, ${hold && isSelected ? 'held for you' : isSelected ? 'selected' : state}, ${won(seat.price)}`,
            disabled: seat.status !== 'AVAILABLE' || hold !== undefined,
            onclick: () => toggle(seat.number),
          },
          String(seat.number),
        );
      }),
    );
    const total = seats.filter((s) => selected.has(s.number)).reduce((sum, s) => sum + s.price, 0);
    picked.textContent = selected.size === 0 ? `Pick 1 to ${MAX_SEATS} seats.` : `${selected.size} of ${MAX_SEATS} seats: ${won(total)}`;
    holdButton.disabled = selected.size === 0 || hold !== undefined;
    holdButton.hidden = picked.hidden = hold !== undefined;
  };

  const toggle = (seat: number) => {
    error.say(null);
    if (selected.has(seat)) selected.delete(seat);
    else if (selected.size >= MAX_SEATS) return error.say(sentenceForReason('HOLD_LIMIT_EXCEEDED'));
    else selected.add(seat);
    drawMap();
    map.querySelector<HTMLButtonElement>(`[data-seat="${seat}"]`)?.focus();
  };

  const loadSeats = async () => {
    if (!date) return;
    try {
      seats = (await client.concerts.seats.query({ concertId: stored.concertId, date })).seats;
      // a seat taken meanwhile leaves the selection (while picking; a hold's seats are the user's)
      if (!hold) for (const number of selected) if (seats.find((s) => s.number === number)?.status !== 'AVAILABLE') selected.delete(number);
      drawMap();
    } catch (failure) {
      fatal(failure);
    }
  };

  const fatal = (failure: unknown) => {
    if (signInAgainIf(failure)) return;
    error.say(sentenceFor(failure));
    const reason = (failure as { data?: { reason?: string } }).data?.reason;
    if (reason === 'TOKEN_EXPIRED' || reason === 'TOKEN_INVALID' || reason === 'TOKEN_MISSING') {
      if (refresh) clearInterval(refresh);
      panel.replaceChildren(joinAgainButton(stored));
    }
  };

  holdButton.addEventListener('click', async () => {
    if (!date || selected.size === 0) return;
    error.say(null);
    holdButton.disabled = true;
    try {
      hold = await client.reservations.hold.mutate({ concertId: stored.concertId, date, seatNumbers: [...selected].sort((a, b) => a - b) });
      await loadSeats();
      showHold(hold);
    } catch (failure) {
      error.say(sentenceFor(failure));
      await loadSeats();
    }
  });

  const showHold = async (current: Hold) => {
    const until = new Date(current.expiresAt);
    const timer = h('p', { class: 'timer', role: 'timer', 'aria-live': 'off' });
    const balance = h('p', { class: 'balance' });
    const charge = h('button', { type: 'button', class: 'secondary' }, 'Add money to wallet');
    const pay = h('button', { type: 'button' }, `Pay ${won(current.totalPrice)}`);
    const release = h('button', { type: 'button', class: 'link' }, 'Release these seats');
    panel.replaceChildren(
      h('h2', {}, `Seats ${current.seatNumbers.join(', ')} on ${current.date} are held for you`),
      timer,
      h('p', {}, `Total: ${won(current.totalPrice)}`),
      balance,
      h('div', { class: 'actions' }, charge, pay, release),
    );
    root.dataset.state = 'held';
    const tickTimer = () => {
      const left = until.getTime() - Date.now();
      timer.textContent = `Time left to pay: ${countdown(until, new Date())}`;
      if (left <= 0) lapsed();
    };
    tickTimer();
    holdTimer = setInterval(tickTimer, 250);

    let money = 0;
    const readBalance = async () => {
      money = (await client.wallet.balance.query()).balance;
      balance.textContent = `Wallet: ${won(money)}`;
      const short = current.totalPrice - money;
      charge.hidden = short <= 0;
      charge.textContent = `Add ${won(Math.max(short, 0))} to wallet`;
      pay.disabled = short > 0;
    };
    await readBalance().catch(fatal);

    charge.addEventListener('click', async () => {
      error.say(null);
      try {
        await client.wallet.charge.mutate({ amount: current.totalPrice - money, idempotencyKey: crypto.randomUUID() });
        await readBalance();
        pay.focus();
      } catch (failure) {
        error.say(sentenceFor(failure));
      }
    });
    pay.addEventListener('click', async () => {
      error.say(null);
      pay.disabled = true;
      try {
        const paid = await client.payments.pay.mutate({ reservationId: current.reservationId, idempotencyKey: crypto.randomUUID() });
        forget();
        confirmation(stored, current, paid);
      } catch (failure) {
        error.say(sentenceFor(failure));
        pay.disabled = false;
        if ((failure as { data?: { reason?: string } }).data?.reason === 'HOLD_EXPIRED') lapsed();
      }
    });
    release.addEventListener('click', async () => {
      try {
        await client.reservations.cancel.mutate({ reservationId: current.reservationId });
      } catch (failure) {
        error.say(sentenceFor(failure));
      }
      backToPicking();
    });
  };

  const backToPicking = () => {
    if (holdTimer) clearInterval(holdTimer);
    hold = undefined;
    selected.clear();
    panel.replaceChildren();
    root.dataset.state = 'seats';
    void loadSeats();
  };

  const lapsed = () => {
    backToPicking();
    error.say(sentenceForReason('HOLD_EXPIRED'));
    root.dataset.state = 'lapsed';
  };

  try {
    const available = await client.concerts.availableDates.query({ concertId: stored.concertId });
    if (available.length === 0) {
      error.say(sentenceForReason('SOLD_OUT'));
      root.dataset.state = 'sold-out';
      panel.replaceChildren(leaveButton(stored));
      return;
    }
    for (const [index, option] of available.entries()) {
      const id = `date-${option.date}`;
      const radio = h('input', { type: 'radio', name: 'date', id, value: option.date, checked: index === 0 });
      radio.addEventListener('change', () => {
        date = option.date;
        selected.clear();
        void loadSeats();
      });
      dates.append(h('label', { for: id, class: 'date' }, radio, ` ${option.date} (${option.availableSeats} seats left)`));
    }
    date = available[0]?.date;
    await loadSeats();
    refresh = setInterval(() => {
      if (!hold) void loadSeats();
    }, SEAT_MAP_REFRESH_MS);
  } catch (failure) {
    fatal(failure);
  }
}

function confirmation(stored: StoredTicket, hold: Hold, paid: Outputs['payments']['pay']): void {
  screen();
  root.dataset.state = 'confirmed';
  show(
    root,
    h('h1', { tabindex: -1 }, 'You are going!'),
    h(
      'dl',
      { class: 'receipt' },
      h('dt', {}, 'Concert'),
      h('dd', {}, `${stored.title}, ${stored.venue}`),
      h('dt', {}, 'Date'),
      h('dd', {}, hold.date),
      h('dt', {}, 'Seats'),
      h('dd', { class: 'seats' }, hold.seatNumbers.join(', ')),
      h('dt', {}, 'Paid'),
      h('dd', {}, won(paid.amount)),
      h('dt', {}, 'Payment'),
      h('dd', {}, `#${paid.paymentId}`),
    ),
    backButton(),
  );
}

start();
