import type { Config } from '@frontrow/core';
import type { MikroORM } from '@frontrow/core';
import type { Runtime as ProcessRuntime } from '@frontrow/runtime';

/** What every command gets: the parsed configuration and a way to reach the database. */
export type Runtime = {
  config: Config;
  out: (line: string) => void;
  /**
   * Opens the process runtime of a one-off command (`openRuntime`, role `tool`: use cases' deps with no
   * jobs, a pool of 4) on DATABASE_URL or the embedded server under DATA_DIR; closes it afterwards.
   */
  withRuntime: <T>(work: (runtime: ProcessRuntime) => Promise<T>, options?: { schema?: 'migrate' }) => Promise<T>;
  /** `withRuntime` for work on the ORM itself (the bench's database checks). */
  withOrm: <T>(work: (orm: MikroORM) => Promise<T>) => Promise<T>;
};

/** Made on a command's first use, never for `--help`: core and the ORM load only when a command needs them. */
export type RuntimeFactory = () => Promise<Runtime>;

export async function createRuntime(
  env: Record<string, string | undefined>,
  out: (line: string) => void = (line) => console.log(line),
): Promise<Runtime> {
  const [{ parseConfig }, { openRuntime }] = await Promise.all([import('@frontrow/core'), import('@frontrow/runtime')]);
  const config = parseConfig(env);
  const withRuntime: Runtime['withRuntime'] = async (work, options = {}) => {
    const runtime = await openRuntime(config, { role: 'tool', embedded: 'attach', poolSize: 4, ...options });
    try {
      return await work(runtime);
    } finally {
      await runtime.close();
    }
  };
  return { config, out, withRuntime, withOrm: (work) => withRuntime((runtime) => work(runtime.orm)) };
}
