export { buildServer, type ServerDeps } from './server.ts';
export { buildApiServer } from './compose.ts';
export { appRouter, type AppRouter } from './router.ts';
export { createCallerFactory } from './trpc.ts';
export { callerContext, type InnerContext, type Context } from './context.ts';
export { REASON_CODES } from './errors.ts';
export { DEFAULT_WEB_ROOT, hasWebApp, webApp } from './web.ts';
