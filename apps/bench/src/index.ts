export { type BenchRuntime, registerBenchCommands } from './command.ts';
