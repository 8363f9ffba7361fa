/** The bench's named choices, in a module of their own: `frontrow --help` lists them without loading the bench. */
export type Scenario = 'enter' | 'poll' | 'hold-storm' | 'pay' | 'flow';
export const SCENARIOS = ['enter', 'poll', 'hold-storm', 'pay', 'flow'] as const satisfies readonly Scenario[];

export type ClientKind = 'typed' | 'wire';
export const CLIENT_KINDS = ['typed', 'wire'] as const satisfies readonly ClientKind[];
