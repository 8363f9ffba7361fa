/** The ceiling: `GET /healthz` (no database, no tRPC) at the same concurrency, on the same server, in the same run. */
import type { BenchEnv, PhaseReport } from '../env.ts';
import { loopFor } from '../pool.ts';

export const HEALTHZ = 'GET /healthz';

export async function runHealthz(env: BenchEnv, seconds: number, name: string): Promise<PhaseReport> {
  const { report } = await env.phase(name, { status: (r) => ({ done: r.count(HEALTHZ), total: 0, unit: 'calls' }) }, async () => {
    // the loops spread over the API processes as the users do
    await loopFor(seconds, env.concurrency, async (loop) => {
      const transport = env.transports[loop % env.transports.length];
      if (!transport) return;
      await env.caller.call(HEALTHZ, async () => {
        const status = await transport.get('/healthz');
        if (status !== 200) throw new Error(`HTTP ${status}`);
      });
    });
  });
  return report;
}
