import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '@frontrow/api';

export { createFrontRowClient, errorReason, type FrontRowClient, type FrontRowClientError, type FrontRowClientOptions } from './client.ts';
export { TRPCClientError, isTRPCClientError } from '@trpc/client';
/** The API's router type, for tRPC's helpers (`inferRouterOutputs<AppRouter>`, …). */
export type { AppRouter } from '@frontrow/api';
/** API.md's `QueueTicket`: what `queue.enter`, `queue.status`, `queue.leave` answer and `queue.watch` streams. */
export type QueueTicket = inferRouterOutputs<AppRouter>['queue']['status'];
