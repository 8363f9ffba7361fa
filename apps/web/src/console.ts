/**
 * The operators' console (`/console`): per concert, the live figures of `operator.stats` (what
 * `frontrow queue status` shows, plus the seats), small charts over the last minutes, and the queue
 * controls, each behind a confirmation. Signed in with an operator's identity token
 * (`frontrow auth token --operator`, or your provider's through `window.frontrow.identityToken`).
 */
import './style.css';
import type { AppRouter, FrontRowClient } from '@frontrow/api-client';
import type { inferRouterOutputs } from '@trpc/server';
import { hook, makeClient, session } from './api.ts';
import { errorBox, h, show } from './dom.ts';
import { sentenceFor } from './errors.ts';

type Stats = inferRouterOutputs<AppRouter>['operator']['stats'];

/** How often the figures are read, and how much history the charts keep (5 minutes). */
const REFRESH_MS = 2_000;
const HISTORY_POINTS = 150;

/**
 * The queue controls: one entry each, so a new control is a few lines. `run` gets the value typed (for
 * controls with an input) after the operator confirms `confirm(value)`. Each is an `operator.*` procedure,
 * which calls core's use case (as the CLI's `frontrow queue …` and `frontrow concert close` do).
 */
export type Control = {
  id: string;
  label: string;
  input?: { label: string; min: number; max: number; initial: (stats: Stats) => number };
  /** Shown only when this holds for the concert's latest figures (pause while running, resume while paused). */
  when?: (stats: Stats) => boolean;
  confirm: (value: number | undefined, stats: Stats) => string;
  run: (client: FrontRowClient, concertId: string, value: number | undefined) => Promise<unknown>;
};

const open = (s: Stats) => s.salesClosedAt === null;

export const CONTROLS: Control[] = [
  {
    id: 'pause',
    label: 'Pause admission',
    when: (s) => open(s) && !s.paused,
    confirm: (_, s) =>
      `Pause admission for concert ${s.concertId}? Nobody more is let in until you resume; the ${s.waiting.toLocaleString('en-US')} waiting keep their places.`,
    run: (c, concertId) => c.operator.pause.mutate({ concertId }),
  },
  {
    id: 'resume',
    label: 'Resume admission',
    when: (s) => open(s) && s.paused,
    confirm: (_, s) => `Resume admission for concert ${s.concertId}? The line moves again at once.`,
    run: (c, concertId) => c.operator.resume.mutate({ concertId }),
  },
  {
    id: 'capacity',
    label: 'Capacity',
    input: { label: 'Users admitted at once', min: 1, max: 1_000_000, initial: (s) => s.maxActive },
    confirm: (value, s) => `Change the capacity of concert ${s.concertId} from ${s.maxActive} to ${value}?`,
    run: (c, concertId, value) => c.operator.configure.mutate({ concertId, ...(value === undefined ? {} : { maxActive: value }) }),
  },
  {
    id: 'admit-rate',
    label: 'Admission cap',
    input: { label: 'Admitted per minute at most (0: no cap)', min: 0, max: 1_000_000, initial: (s) => s.admitPerMinute ?? 0 },
    confirm: (value, s) =>
      value === 0
        ? `Remove the admission cap of concert ${s.concertId} (now ${s.admitPerMinute ?? 'none'})?`
        : `Admit at most ${value} a minute to concert ${s.concertId} (now ${s.admitPerMinute ?? 'no cap'})?`,
    run: (c, concertId, value) => c.operator.configure.mutate({ concertId, ...(value === undefined ? {} : { admitPerMinute: value }) }),
  },
  {
    id: 'arrival',
    label: 'Arrival window',
    input: { label: 'Seconds an admitted user has to show up', min: 1, max: 86_400, initial: (s) => s.arrivalSeconds },
    confirm: (value, s) => `Give users admitted to concert ${s.concertId} ${value} s to show up (now ${s.arrivalSeconds} s)?`,
    run: (c, concertId, value) => c.operator.configure.mutate({ concertId, ...(value === undefined ? {} : { arrivalSeconds: value }) }),
  },
  {
    id: 'close',
    label: 'Close sales',
    when: open,
    confirm: (_, s) =>
      `Close sales for concert ${s.concertId} for good? New entries are refused and the ${s.waiting.toLocaleString('en-US')} waiting are let go; those admitted can still pay.`,
    run: (c, concertId) => c.operator.closeSales.mutate({ concertId }),
  },
];

/** The concert's state in words: what admission is doing now. */
export function saleState(s: Stats): string {
  if (s.salesClosedAt !== null) return `Sales closed at ${new Date(s.salesClosedAt).toLocaleTimeString()}`;
  if (s.salesOpenAt !== null && s.openedAt === null) return `Pre-queue: the sale opens at ${new Date(s.salesOpenAt).toLocaleTimeString()}`;
  const cap = s.admitPerMinute === null ? 'no admission cap' : `at most ${s.admitPerMinute.toLocaleString('en-US')} a minute`;
  if (s.paused) return `Admission paused (${cap})`;
  if (s.soldOut) return `Sold out: nobody is admitted (${cap})`;
  return `Admitting (${cap}; arrival window ${s.arrivalSeconds} s)`;
}

/** The figures shown, each with a chart of its last minutes. */
const FIGURES: { id: string; label: string; value: (s: Stats) => number; of?: (s: Stats) => string }[] = [
  { id: 'pre-queue', label: 'In the pre-queue', value: (s) => s.preQueue },
  { id: 'waiting', label: 'Waiting', value: (s) => s.waiting },
  { id: 'active', label: 'Active', value: (s) => s.active, of: (s) => ` / ${s.maxActive}` },
  {
    id: 'admitted',
    label: 'Admitted per minute',
    value: (s) => s.admittedLastMinute,
    of: (s) => (s.admitPerMinute === null ? '' : ` (cap ${s.admitPerMinute})`),
  },
  { id: 'no-shows', label: 'No-shows freed per minute', value: (s) => s.noShowsLastMinute },
  { id: 'held', label: 'Seats held', value: (s) => s.seats.held },
  { id: 'sold', label: 'Seats sold', value: (s) => s.seats.sold },
];

const root = document.querySelector<HTMLElement>('#app') ?? document.body;
const client = makeClient('operator');
let stop: () => void = () => {};

function start(): void {
  if (hook.identityToken || session.get<string>('operator')) void consoleScreen();
  else signIn();
}

function signIn(): void {
  stop();
  const error = errorBox();
  const token = h('textarea', { id: 'token', rows: 4, required: true, spellcheck: 'false' });
  show(
    root,
    h('h1', { tabindex: -1 }, 'Operator console'),
    h(
      'form',
      {
        onsubmit: (event) => {
          event.preventDefault();
          session.set('operator', token.value.trim());
          void consoleScreen();
        },
      },
      h('label', { for: 'token' }, 'Operator token'),
      h('p', {}, 'From your sign-in, or in development: frontrow auth token --user you --operator'),
      token,
      h('button', { type: 'submit' }, 'Open the console'),
    ),
    error,
  );
}

async function consoleScreen(): Promise<void> {
  stop();
  const error = errorBox();
  const picker = h('select', { id: 'concert' });
  const figures = h('div', { class: 'figures' });
  const updated = h('p', { class: 'detail', 'aria-live': 'off' });
  const state = h('p', { class: 'sale-state', id: 'sale-state', 'aria-live': 'polite' });
  const controls = h('ul', { class: 'controls' });
  show(
    root,
    h('h1', { tabindex: -1 }, 'Operator console'),
    h('label', { for: 'concert' }, 'Concert'),
    picker,
    state,
    figures,
    updated,
    h('h2', {}, 'Queue controls'),
    controls,
    error,
    h(
      'button',
      {
        type: 'button',
        class: 'link',
        onclick: () => {
          session.remove('operator');
          signIn();
        },
      },
      'Sign out',
    ),
  );

  try {
    const concerts = await client.operator.concerts.query();
    for (const concert of concerts) picker.append(h('option', { value: concert.id }, `${concert.id}: ${concert.title} (${concert.venue})`));
  } catch (failure) {
    error.say(sentenceFor(failure));
    return;
  }

  const history = new Map<string, number[]>();
  let latest: Stats | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  stop = () => {
    if (timer) clearInterval(timer);
  };

  const cells = new Map(
    FIGURES.map((figure) => {
      const value = h('div', { class: 'value', id: `figure-${figure.id}` });
      const chart = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
      chart.setAttribute('viewBox', `0 0 ${HISTORY_POINTS} 40`);
      chart.setAttribute('preserveAspectRatio', 'none');
      chart.setAttribute('aria-hidden', 'true');
      const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
      chart.append(line);
      const box = h('div', { class: 'figure' }, h('div', {}, figure.label), value, chart);
      figures.append(box);
      return [figure.id, { box, value, line }] as const;
    }),
  );

  const refresh = async () => {
    const concertId = picker.value;
    if (!concertId) return;
    try {
      const stats = await client.operator.stats.query({ concertId });
      if (stats.concertId !== picker.value) return;
      const first = latest?.concertId !== stats.concertId;
      latest = stats;
      for (const figure of FIGURES) {
        const now = figure.value(stats);
        const cell = cells.get(figure.id);
        if (!cell) continue;
        const points = history.get(figure.id) ?? [];
        points.push(now);
        if (points.length > HISTORY_POINTS) points.shift();
        history.set(figure.id, points);
        cell.value.textContent = `${now.toLocaleString('en-US')}${figure.of?.(stats) ?? ''}`;
        const top = Math.max(1, ...points);
        // the readings so far across the chart's width (it fills up to HISTORY_POINTS, 5 minutes), 0 at the bottom
        const step = points.length > 1 ? HISTORY_POINTS / (points.length - 1) : 0;
        cell.line.setAttribute('points', points.map((p, i) => `${i * step},${37 - (p / top) * 34}`).join(' '));
      }
      updated.textContent = `Updated ${new Date(stats.at).toLocaleTimeString()}; charts: the last 5 minutes`;
      state.textContent = saleState(stats);
      state.dataset.state = stats.salesClosedAt ? 'closed' : stats.paused ? 'paused' : stats.soldOut ? 'sold-out' : 'open';
      const shown = CONTROLS.filter((control) => control.when?.(stats) ?? true)
        .map((control) => control.id)
        .join();
      if (first || shown !== drawn) drawControls(stats);
      error.say(null);
    } catch (failure) {
      error.say(sentenceFor(failure));
    }
  };

  let drawn = '';
  const drawControls = (stats: Stats) => {
    const shown = CONTROLS.filter((control) => control.when?.(stats) ?? true);
    drawn = shown.map((control) => control.id).join();
    controls.replaceChildren(...shown.map((control) => controlItem(control, stats, () => latest ?? stats, refresh, error)));
  };

  picker.addEventListener('change', () => {
    history.clear();
    latest = undefined;
    void refresh();
  });
  await refresh();
  timer = setInterval(refresh, REFRESH_MS);
}

/** One control: its input, an Apply button, then a confirmation with Confirm and Cancel. */
function controlItem(
  control: Control,
  initial: Stats,
  current: () => Stats,
  after: () => Promise<void>,
  error: ReturnType<typeof errorBox>,
): HTMLLIElement {
  const id = `control-${control.id}`;
  const input = control.input
    ? h('input', {
        id,
        type: 'number',
        min: control.input.min,
        max: control.input.max,
        value: control.input.initial(initial),
        required: true,
      })
    : undefined;
  const confirmBox = h('div', { class: 'confirm-slot', 'aria-live': 'polite' });
  const apply = h('button', { type: 'button' }, control.input ? `Apply ${control.label.toLowerCase()}` : control.label);
  apply.addEventListener('click', () => {
    const value = input ? Number(input.value) : undefined;
    if (input && control.input && (!Number.isInteger(value) || (value ?? 0) < control.input.min || (value ?? 0) > control.input.max)) {
      error.say(`Please enter a whole number from ${control.input.min} to ${control.input.max}.`);
      return;
    }
    const yes = h('button', { type: 'button' }, 'Confirm');
    const no = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
    confirmBox.replaceChildren(
      h('div', { class: 'confirm', role: 'alertdialog', 'aria-label': 'Confirm' }, h('p', {}, control.confirm(value, current())), yes, no),
    );
    yes.focus();
    no.addEventListener('click', () => confirmBox.replaceChildren());
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      try {
        await control.run(client, current().concertId, value);
        confirmBox.replaceChildren(h('p', { class: 'done' }, 'Done.'));
        await after();
      } catch (failure) {
        confirmBox.replaceChildren();
        error.say(sentenceFor(failure));
      }
    });
  });
  return h(
    'li',
    { 'data-control': control.id },
    h('h3', {}, control.label),
    input && control.input ? h('label', { for: id }, control.input.label) : null,
    input,
    apply,
    confirmBox,
  );
}

start();
