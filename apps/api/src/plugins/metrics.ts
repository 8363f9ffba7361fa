/**
 * `GET /metrics` (API.md) and what feeds it per request: one observation when a response ends, with the
 * outcome of each tRPC call. The series and their queries are `metrics.ts`'s.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { AdmissionMemory, Clock, DatabaseProbe, EntityManager } from '@frontrow/core';
import { type JobQueueSource, createMetrics } from '../metrics.ts';
import { type Calls, procedurePaths, routeLabel } from './calls.ts';
import { isEventStream } from './streams.ts';

export type MetricsOptions = {
  em: EntityManager;
  /** The concerts' figures are counted as of this clock (the procedures' own), not the database's. */
  clock: Clock;
  database: DatabaseProbe;
  calls: Calls;
  /** pg-boss, read for the job series. */
  jobQueues?: JobQueueSource | undefined;
  admissions?: AdmissionMemory | undefined;
  /** How long a scrape waits on the database before answering without it. */
  timeoutMs: number;
};

export const metricsPlugin = fp(async (app: FastifyInstance, options: MetricsOptions) => {
  const { admissions, calls } = options;
  const metrics = createMetrics({
    em: options.em,
    clock: options.clock,
    boss: options.jobQueues,
    timeoutMs: options.timeoutMs,
    traffic: { roundTrips: options.database.roundTrips, ...(admissions ? { admissionReads: () => admissions.counts.reads } : {}) },
  });
  app.addHook('onResponse', async (req, reply) => {
    // a call that succeeded read the database: after an outage, that is the news
    if (reply.statusCode === 200 && procedurePaths(req).length > 0) app.databaseState.answered();
    metrics.observeRequest({
      method: req.method,
      route: routeLabel(req),
      status: reply.statusCode,
      seconds: reply.elapsedTime / 1000,
      streamed: isEventStream(reply),
      calls: calls.outcomes(req, reply),
    });
  });
  app.get('/metrics', async (_req, reply) => {
    await metrics.refresh();
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
});
