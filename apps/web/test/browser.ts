/**
 * The browser tests' set-up: Debian's `chromium` driven by `playwright-core` (installed with apt-get when
 * missing and we are root), the web app built by Vite into a temp directory (the code under test, never a
 * stale dist/), and screenshots of each state: into docs/screenshots with `UPDATE_SCREENSHOTS=1` (how the
 * README's pictures are made), else into a temp directory, so a test run leaves the working tree as it was.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page, chromium } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
export const SCREENSHOTS =
  process.env.UPDATE_SCREENSHOTS === '1'
    ? fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url))
    : join(tmpdir(), `frontrow-screenshots-${process.pid}`);

/** Debian's chromium, installed when missing (as root); otherwise a failure that says what to do. */
export function chromiumPath(): string {
  const given = process.env.FRONTROW_CHROMIUM;
  if (given) return given;
  const found = CANDIDATES.find((path) => existsSync(path));
  if (found) return found;
  if (process.getuid?.() !== 0) {
    throw new Error(
      'the browser tests need Chromium: run `apt-get install -y chromium` as root (or set FRONTROW_CHROMIUM to a Chromium binary)',
    );
  }
  const apt = (args: string[]) =>
    execFileSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  try {
    apt(['install', '-y', '--no-install-recommends', 'chromium']);
  } catch {
    apt(['update']);
    apt(['install', '-y', '--no-install-recommends', 'chromium']);
  }
  const installed = CANDIDATES.find((path) => existsSync(path));
  if (!installed) throw new Error('apt-get install chromium ran but no chromium binary is there; install it by hand');
  return installed;
}

export async function launchBrowser(): Promise<Browser> {
  return await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** The web app built from its sources now, into a temp directory; the directory is returned. */
export async function buildWebApp(): Promise<string> {
  const { build } = await import('vite');
  const outDir = await mkdtemp(join(tmpdir(), 'frontrow-web-'));
  await build({
    configFile: fileURLToPath(new URL('../vite.config.ts', import.meta.url)),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
  return outDir;
}

/** Removes the screenshots of a run that was not asked to keep them (`UPDATE_SCREENSHOTS=1` keeps docs/'s). */
export async function removeTemporaryScreenshots(): Promise<void> {
  if (process.env.UPDATE_SCREENSHOTS !== '1') await rm(SCREENSHOTS, { recursive: true, force: true });
}

/** A phone's width: what the screenshots show, and what the layout must fit. */
export const PHONE = { width: 390, height: 844 };

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
