/**
 * Real headless Chromium for the dashboard's end-to-end tests: Debian's package (installed by
 * scripts/chromium.sh, which `npm test` runs), driven by playwright-core, with a fresh profile
 * and without the background connections the machine's closed network would refuse.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** A browser with one page; `close` removes its profile too. */
export interface TestBrowser {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Errors thrown by the page's own scripts. */
  readonly pageErrors: string[];
  close(): Promise<void>;
}

const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/** Starts Chromium (CHROMIUM_PATH, else /usr/bin/chromium) headless with a new profile. */
export async function startBrowser(): Promise<TestBrowser> {
  const executablePath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
  const profile = await mkdtemp(join(tmpdir(), 'procstate-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: FLAGS, viewport: { width: 1400, height: 1000 } });
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return {
    context,
    page,
    pageErrors,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
