/** The bench's named choices, in a module of their own: `frontrow --help` lists them without loading the bench. */
export type Scenario = 'enter' | 'poll' | 'hold-storm' | 'pay' | 'flow' | 'no-show' | 'crowd' | 'streams';
export const SCENARIOS = [
  'enter',
  'poll',
  'hold-storm',
  'pay',
  'flow',
  'no-show',
  'crowd',
  'streams',
] as const satisfies readonly Scenario[];
/**
 * What `--scenario all` plays: the throughput scenarios (no-show is a minute of two timed crowds of its own;
 * crowd fills a line of up to millions; streams measures one API process's memory with thousands of open
 * streams: each a run of its own, played only when named).
 */
export const ALL_SCENARIOS = ['enter', 'poll', 'hold-storm', 'pay', 'flow'] as const satisfies readonly Scenario[];

export type ClientKind = 'typed' | 'wire';
export const CLIENT_KINDS = ['typed', 'wire'] as const satisfies readonly ClientKind[];
