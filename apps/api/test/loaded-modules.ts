/**
 * Preloaded into a spawned process (`NODE_OPTIONS=--import <this file>`) by streams-process.test.ts:
 * appends the URL of every module the process resolves, one per line, to FRONTROW_TEST_MODULE_LOG, so a
 * test can say what a process loads (the streams process: no ORM, no web framework).
 */
import { appendFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const log = process.env.FRONTROW_TEST_MODULE_LOG;
if (log) {
  registerHooks({
    resolve(specifier, context, next) {
      const resolved = next(specifier, context);
      appendFileSync(log, `${resolved.url}\n`);
      return resolved;
    },
  });
}
