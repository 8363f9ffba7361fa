/**
 * Unit tests run with TMPDIR set to a folder of their own (vitest.config.ts), which must be empty again
 * when they end: a unit test that leaves a file or folder in the temp directory fails the run.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import type { TestProject } from 'vitest/node';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = project.config.env.TMPDIR;
  if (!dir) throw new Error('the unit project sets no TMPDIR (see vitest.config.ts)');
  await mkdir(dir, { recursive: true });
  return async () => {
    const left = await readdir(dir);
    await rm(dir, { recursive: true, force: true });
    if (left.length > 0) throw new Error(`unit tests left ${left.join(', ')} in the temp directory: remove what a test makes`);
  };
}
