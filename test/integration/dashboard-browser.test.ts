/// <reference lib="dom" />
// The functions given to page.evaluate and page.waitForFunction run in the browser.
/**
 * The dashboard end to end, in real headless Chromium, on FerretDB with Agenda workers: an
 * upload processed while the overview is open, a proc's page and its replay, hostile values,
 * actions with and without the token, and bad ids.
 *
 * With PROCSTATE_SCREENSHOTS=<folder> it also saves the screenshots docs/dashboard.md shows
 * (scripts/screenshots.sh); CI leaves them alone.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoProcStore } from '../../persistence/mongodb/index.js';
import { AgendaScheduler } from '../../src/agenda/index.js';
import { createDashboardHandler, serveDashboard, type DashboardServer } from '../../src/dashboard/index.js';
import { kinds, planEntries } from '../../src/demo/demo-kinds.js';
import { createProcRuntime, type ProcRuntime } from '../../src/index.js';
import { startBrowser, type TestBrowser } from '../helpers/browser.js';
import { useTestDatabase } from '../helpers/mongo.js';

const database = useTestDatabase();
const ENTRIES = 200;
const TOKEN = 'a-test-token-of-some-length';
const UPLOAD = 'browser-upload';
const HOSTILE = `<script>window.__pwned = 'script'</script><img src=x onerror="window.__pwned = 'img'">javascript:window.__pwned='link'`;
const HOSTILE_ID = `<img src=x onerror="window.__pwned='id'">`;
const screenshots = process.env['PROCSTATE_SCREENSHOTS'];

let store: MongoProcStore;
let runtime: ProcRuntime;
let server: DashboardServer;
let browser: TestBrowser;

beforeAll(async () => {
  store = new MongoProcStore({ db: database.db, kinds: { upload: 'uploads', entry: { documents: database.db.collection('entries'), parentKey: 'upload_id' } } });
  await store.ensureIndexes();
  const scheduler = new AgendaScheduler({ db: database.db, pollMs: 200, concurrency: 8 });
  runtime = createProcRuntime({ kinds, store, scheduler, sweepIntervalMs: 0, logger: { warn: () => undefined, error: () => undefined } });
  await runtime.start();
  server = await serveDashboard(createDashboardHandler({ runtime, kinds, token: TOKEN, refreshMs: 250 }), { port: 0 });
  browser = await startBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await runtime?.close({ drainTimeoutMs: 2_000 });
});

describe('the dashboard in Chromium', () => {
  it('shows the entries of an upload moving to SUCCESS on the open overview, without a reload', async () => {
    const { page } = browser;
    await runtime.create('upload', UPLOAD, { fields: { upload_name: 'Browser upload' } });
    await page.goto(server.url);
    await page.locator('[data-count="entry:SUCCESS"] b').waitFor();
    expect(await page.locator('[data-count="upload:READY"] b').textContent()).toBe('1');
    expect(await page.locator('[data-count="entry:SUCCESS"] b').textContent()).toBe('0');
    // Everything the page shows from now on is recorded in the page; a reload would lose the marker.
    await page.evaluate(() => {
      const w = window as unknown as { __marker: boolean; __seen: string[] };
      w.__marker = true;
      w.__seen = ['0'];
      new MutationObserver(() => {
        const shown = document.querySelector('[data-count="entry:SUCCESS"] b')?.textContent ?? '';
        if (shown !== w.__seen[w.__seen.length - 1]) w.__seen.push(shown);
      }).observe(document.getElementById('view') as HTMLElement, { childList: true, subtree: true, characterData: true });
    });

    const plan = planEntries(UPLOAD, { entries: ENTRIES, seed: 7, stepMs: 20 });
    const failures = plan.filter((entry) => entry.fails).length;
    await runtime.call('upload', UPLOAD, 'process_upload', { entries: ENTRIES, seed: 7, stepMs: 20 });
    if (screenshots !== undefined) {
      await page.waitForFunction(() => Number(document.querySelector('[data-count="entry:SUCCESS"] b')?.textContent) > 40, undefined, { timeout: 120_000 });
      await page.screenshot({ path: join(screenshots, 'dashboard-overview.png') });
    }
    await runtime.waitForCompletion('upload', UPLOAD, { timeoutMs: 150_000 });
    await page.waitForFunction((expected) => document.querySelector('[data-count="upload:SUCCESS"] b')?.textContent === '1' && document.querySelector('[data-count="entry:SUCCESS"] b')?.textContent === expected, String(ENTRIES - failures), { timeout: 30_000 });

    const seen = await page.evaluate(() => (window as unknown as { __seen: string[] }).__seen.map(Number));
    expect(await page.evaluate(() => (window as unknown as { __marker?: boolean }).__marker)).toBe(true);
    expect(seen[0]).toBe(0);
    expect(seen[seen.length - 1]).toBe(ENTRIES - failures);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    const counts = await store.countByStatus('entry');
    expect(await page.locator('[data-count="entry:FAILURE"] b').textContent()).toBe(String(counts.FAILURE));
    expect(counts.FAILURE).toBe(failures);
    expect(browser.pageErrors).toEqual([]);
  });

  it("shows a proc's current status and exactly the edges its ledger took, and replays every record", async () => {
    const { page } = browser;
    const ledger = await runtime.history('upload', UPLOAD);
    await page.goto(`${server.url}#/proc/upload/${UPLOAD}`);
    await page.locator('#ledger tbody tr').nth(ledger.length - 1).waitFor();
    expect(await page.locator('#ledger tbody tr').count()).toBe(ledger.length);
    expect(await page.locator('[data-node].current').getAttribute('data-node')).toBe('SUCCESS');
    const taken = new Set(ledger.filter((record) => record.from !== null && record.to !== null).map((record) => `${record.from}>${record.to}`));
    const marked = await page.locator('[data-edge].taken').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-edge')));
    expect(new Set(marked)).toEqual(taken);
    expect(await page.locator('[data-children="entry"] [data-count="entry:SUCCESS"] b').textContent()).toBe(String((await runtime.childCounts('upload', UPLOAD)).byStatus['SUCCESS'] ?? 0));
    if (screenshots !== undefined) await page.screenshot({ path: join(screenshots, 'dashboard-proc.png'), fullPage: true });

    await page.click('#replay-first');
    for (const [index, record] of ledger.entries()) {
      if (index > 0) await page.click('#replay-next');
      await expect.poll(() => page.locator('#replay-position').getAttribute('data-replay-seq')).toBe(String(record.seq));
      expect(await page.locator('[data-node].current').getAttribute('data-node')).toBe(record.to);
      expect(await page.locator('#ledger tr.at-step').getAttribute('data-seq')).toBe(String(record.seq));
      if (record.from !== null && record.to !== null) expect(await page.locator('[data-edge].step').getAttribute('data-edge')).toBe(`${record.from}>${record.to}`);
    }
    expect(await page.locator('#replay-next').isDisabled()).toBe(true);
    expect(await page.locator('td', { hasText: 'not a transition of the machine' }).count()).toBe(0);
  });

  it('renders hostile values as text: no script of theirs runs', async () => {
    const { page } = browser;
    await runtime.create('upload', HOSTILE_ID, { fields: { upload_name: HOSTILE } });
    await page.goto(`${server.url}#/kind/upload`);
    const link = page.locator('#list-rows a', { hasText: HOSTILE_ID });
    await link.waitFor();
    await link.click();
    await page.locator('#document').waitFor();
    expect(await page.locator('#document').textContent()).toContain(JSON.stringify(HOSTILE).slice(1, -1));
    expect(await page.locator('h1 .mono').textContent()).toBe(HOSTILE_ID);
    expect(await page.locator('#view script, #view img').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: string }).__pwned)).toBeUndefined();
    expect(browser.pageErrors).toEqual([]);
  });

  it('refuses an action without the token, and records one made with it', async () => {
    const { page } = browser;
    await page.goto(`${server.url}#/proc/upload/${UPLOAD}`);
    await expect.poll(() => page.locator('h1 .mono').textContent()).toBe(UPLOAD);
    const before = await runtime.history('upload', UPLOAD);
    page.once('dialog', (dialog) => void dialog.accept());
    await page.fill('#token', '');
    await page.click('#do-reset');
    await expect.poll(() => page.locator('#action-result [data-result]').getAttribute('data-result')).toBe('Unauthorized');
    expect(await runtime.history('upload', UPLOAD)).toHaveLength(before.length);

    page.once('dialog', (dialog) => void dialog.accept());
    await page.fill('#token', 'wrong-token-of-some-length');
    await page.click('#do-reset');
    await expect.poll(() => page.locator('#action-result [data-result]').getAttribute('data-result')).toBe('Forbidden');
    expect(await runtime.history('upload', UPLOAD)).toHaveLength(before.length);

    page.once('dialog', (dialog) => void dialog.dismiss());
    await page.fill('#token', TOKEN);
    await page.click('#do-reset');
    expect(await runtime.history('upload', UPLOAD)).toHaveLength(before.length);

    page.once('dialog', (dialog) => void dialog.accept());
    await page.click('#do-reset');
    await expect.poll(() => page.locator('#action-result [data-result]').getAttribute('data-result')).toBe('ok');
    const after = await runtime.history('upload', UPLOAD);
    expect(after).toHaveLength(before.length + 1);
    expect(after[after.length - 1]).toMatchObject({ seq: before.length + 1, from: 'SUCCESS', to: 'READY', cause: 'proc.reset' });
    // The page follows the ledger by itself.
    await expect.poll(() => page.locator('[data-node].current').getAttribute('data-node')).toBe('READY');
  });

  it('answers a malformed id or filter with a 400 that says why, in the page and in the API', async () => {
    const { page } = browser;
    const long = 'x'.repeat(600);
    for (const path of [`api/procs/upload/${long}`, 'api/procs/upload/a%00b', 'api/kinds/entry/procs?after[$gt]=', 'api/kinds/entry/procs?status=DONE', 'api/kinds/entry/procs?limit=1e3', 'api/procs/upload/%E0%A4%A']) {
      const response = await fetch(new URL(path, server.url));
      expect({ path, status: response.status }).toEqual({ path, status: 400 });
      expect(((await response.json()) as { error: string }).error).toBe('InvalidArgumentError');
    }
    const unknown = await fetch(new URL('api/kinds/nokind/procs', server.url));
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: string }).error).toBe('UnknownKindError');
    const missing = await fetch(new URL('api/procs/upload/no-such-upload', server.url));
    expect(missing.status).toBe(404);
    const operator = await fetch(new URL(`api/procs/upload/${UPLOAD}/call`, server.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-procstate-token': TOKEN },
      body: JSON.stringify({ process: { $gt: '' } }),
    });
    expect(operator.status).toBe(400);
    expect(((await operator.json()) as { error: string }).error).toBe('InvalidArgumentError');

    await page.goto(`${server.url}#/proc/upload/${long}`);
    await expect.poll(() => page.locator('[data-error]').getAttribute('data-error')).toBe('InvalidArgumentError');
  });
});
