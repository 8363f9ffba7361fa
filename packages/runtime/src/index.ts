export {
  EMBEDDED_PORT,
  type EdgeDeps,
  type ErrorSink,
  openRuntime,
  type Runtime,
  type RuntimeOptions,
  type RuntimeRole,
} from './runtime.ts';
