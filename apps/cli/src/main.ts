#!/usr/bin/env node
import { ZodError } from 'zod';
import { buildProgram } from './program.ts';
import { createRuntime, type Runtime } from './runtime.ts';

let runtime: Runtime | undefined;
const program = buildProgram(() => {
  runtime ??= createRuntime(process.env);
  return runtime;
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // one clear line and a non-zero exit, never a stack trace
  console.error(`error: ${describe(error)}`);
  process.exitCode = 1;
}

function describe(error: unknown): string {
  if (error instanceof ZodError) return error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ');
  if (error instanceof Error) return error.message.split('\n')[0] ?? String(error);
  return String(error);
}
