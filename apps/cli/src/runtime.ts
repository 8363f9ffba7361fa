import { type Config, parseConfig } from '@frontrow/core';
import { type MikroORM, openOrm } from '@frontrow/db';
import { attachEmbeddedPostgres } from '@frontrow/db/embedded';
import { join } from 'node:path';

/** What every command gets: the parsed configuration and a way to reach the database. */
export type Runtime = {
  config: Config;
  out: (line: string) => void;
  /** Opens the ORM on DATABASE_URL, or on the embedded server under DATA_DIR; closes it afterwards. */
  withOrm: <T>(work: (orm: MikroORM) => Promise<T>) => Promise<T>;
};

export function createRuntime(env: Record<string, string | undefined>, out: (line: string) => void = (line) => console.log(line)): Runtime {
  const config = parseConfig(env);
  return {
    config,
    out,
    async withOrm(work) {
      const embedded = config.DATABASE_URL ? null : await attachEmbeddedPostgres({ dataDir: join(config.DATA_DIR, 'pg') });
      const databaseUrl = config.DATABASE_URL ?? embedded?.url;
      if (!databaseUrl) throw new Error('no database');
      try {
        const orm = await openOrm({ databaseUrl, poolSize: 4 });
        try {
          return await work(orm);
        } finally {
          await orm.close(true);
        }
      } finally {
        await embedded?.stop();
      }
    },
  };
}
