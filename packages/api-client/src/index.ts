export { createFrontRowClient, errorReason, type FrontRowClient, type FrontRowClientError, type FrontRowClientOptions } from './client.ts';
export { TRPCClientError, isTRPCClientError } from '@trpc/client';
