import pg from 'pg';

export type ListenOptions = {
  databaseUrl: string;
  channel: string;
  /** Each notification's payload, in the order PostgreSQL sent them. */
  onNotify: (payload: string) => void;
  /**
   * After every (re)connection, once LISTEN is in place: what was sent while no connection listened is
   * lost, so the listener's state must be read again from here.
   */
  onListening?: () => void;
  /** A lost connection (it is retried every `retryMs`). */
  onError?: (error: Error) => void;
  retryMs?: number;
};

export type Listener = {
  /** True while a connection listens. */
  readonly listening: boolean;
  /**
   * A named prepared statement on the listening connection, or null while there is none: a reader of its
   * own that never waits for the pool, however busy the pool is.
   */
  query<T extends pg.QueryResultRow>(name: string, text: string, values: unknown[]): Promise<T[]> | null;
  close(): Promise<void>;
};

/**
 * One connection of its own (LISTEN holds a session: never a pooled one) listening on `channel`,
 * reconnected after any loss. Channels are fixed identifiers of ours, never user input.
 */
export function listen(options: ListenOptions): Listener {
  const retryMs = options.retryMs ?? 1_000;
  let client: pg.Client | undefined;
  let closed = false;
  let listening = false;
  let retry: NodeJS.Timeout | undefined;

  const lost = (error: Error) => {
    listening = false;
    const dead = client;
    client = undefined;
    dead?.removeAllListeners();
    dead?.on('error', () => undefined);
    void dead?.end().catch(() => undefined);
    if (closed) return;
    options.onError?.(error);
    retry = setTimeout(connect, retryMs);
    retry.unref();
  };

  async function connect(): Promise<void> {
    if (closed) return;
    const next = new pg.Client({
      connectionString: options.databaseUrl,
      connectionTimeoutMillis: 5_000,
      query_timeout: 5_000,
      // how an operator tells this connection apart in pg_stat_activity
      application_name: `frontrow listen ${options.channel}`,
    });
    client = next;
    next.on('error', lost);
    next.on('end', () => {
      if (client === next) lost(new Error('the LISTEN connection ended'));
    });
    next.on('notification', (message) => {
      if (message.channel === options.channel) options.onNotify(message.payload ?? '');
    });
    try {
      await next.connect();
      await next.query(`listen ${pg.escapeIdentifier(options.channel)}`);
      if (closed || client !== next) return;
      listening = true;
      options.onListening?.();
    } catch (error) {
      if (client === next) lost(error instanceof Error ? error : new Error(String(error)));
    }
  }

  void connect();
  return {
    get listening() {
      return listening;
    },
    query<T extends pg.QueryResultRow>(name: string, text: string, values: unknown[]) {
      if (!listening || !client) return null;
      return client.query<T>({ name, text, values }).then((result) => result.rows);
    },
    async close() {
      closed = true;
      listening = false;
      clearTimeout(retry);
      const last = client;
      client = undefined;
      if (last) {
        last.removeAllListeners();
        last.on('error', () => undefined);
        await last.end().catch(() => undefined);
      }
    },
  };
}
