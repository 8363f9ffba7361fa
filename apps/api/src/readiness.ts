/**
 * `/readyz` of every FrontRow server (the API's probes plugin, the streams process): ready when the
 * database answers and has every migration of this code; 503 BUSY when it does not answer in time, 503
 * SCHEMA_BEHIND (with the migrations pending and the command to run) while the schema is behind.
 */
import { type DatabaseState, MIGRATE_COMMAND } from '@frontrow/core/edge';
import { withTimeout } from './with-timeout.ts';

/** How a server asks after its database. */
export type ReadinessDatabase = {
  ping(): Promise<unknown>;
  /** The code's migrations the database lacks (none once current). */
  pendingMigrations(): Promise<string[]>;
};

export type Readiness = { status: 200 | 503; body: Record<string, unknown> };

export function readinessCheck(database: ReadinessDatabase, state: DatabaseState, timeoutMs: number): () => Promise<Readiness> {
  // once the schema has every migration of this code it stays so (migrations only go forward)
  let schemaCurrent = false;
  return async () => {
    let pending: string[];
    try {
      await withTimeout(database.ping(), timeoutMs);
      pending = schemaCurrent ? [] : await withTimeout(database.pendingMigrations(), timeoutMs);
    } catch (error) {
      state.failed(error, 'readyz', { unavailable: true });
      return { status: 503, body: { status: 'unavailable', reason: 'BUSY' } };
    }
    if (pending.length > 0) return { status: 503, body: { status: 'unavailable', reason: 'SCHEMA_BEHIND', pending, run: MIGRATE_COMMAND } };
    schemaCurrent = true;
    state.answered();
    return { status: 200, body: { status: 'ready' } };
  };
}
