#!/usr/bin/env node
import { enableCompileCache } from 'node:module';
import type { Runtime } from './runtime.ts';

// V8 keeps the code it compiled for core, the ORM and their dependencies on disk (under the OS's temp
// directory): from the second run on a command spends about 40% less CPU starting. Before any other import.
enableCompileCache();
const { buildProgram } = await import('./program.ts');
const { createRuntime } = await import('./runtime.ts');

let runtime: Promise<Runtime> | undefined;
const program = buildProgram(() => {
  runtime ??= createRuntime(process.env);
  return runtime;
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // one clear line and a non-zero exit, never a stack trace
  console.error(`error: ${await describe(error)}`);
  process.exitCode = 1;
}

async function describe(error: unknown): Promise<string> {
  // zod is loaded only on this path: most commands that succeed never need it here
  const { ZodError } = await import('zod');
  if (error instanceof ZodError) return error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ');
  if (error instanceof Error) return error.message.split('\n')[0] ?? String(error);
  return String(error);
}
