export { createFrontRowClient, errorReason, type FrontRowClient, type FrontRowClientError, type FrontRowClientOptions } from './client.ts';
export { TRPCClientError, isTRPCClientError } from '@trpc/client';
/** The API's router type, for tRPC's helpers (`inferRouterOutputs<AppRouter>`, …). */
export type { AppRouter } from '@frontrow/api';
