import { createProcRuntime, defineKind } from 'procstate';
import { createDashboardHandler, serveDashboard } from 'procstate/dashboard';

const upload = defineKind({ name: 'upload', processes: { process_upload: { run: (ctx) => ctx.setStep('Matching') } } });
const runtime = createProcRuntime({ kinds: [upload] });
await runtime.start();

// Actions need the token in the x-procstate-token header; without `token` the dashboard is read-only.
const dashboard = createDashboardHandler({ runtime, kinds: [upload], token: process.env['DASHBOARD_TOKEN'] ?? 'a-long-random-secret-token' });
const server = await serveDashboard(dashboard, { port: 0 }); // 127.0.0.1 unless `host` says otherwise

await runtime.create('upload', 'u1');
await runtime.call('upload', 'u1', 'process_upload');
await runtime.waitForCompletion('upload', 'u1');
const overview = (await (await fetch(new URL('api/overview', server.url))).json()) as { kinds: Array<{ name: string; counts: Record<string, number> }> };
console.log(overview.kinds.map((kind) => `${kind.name}: ${kind.counts['SUCCESS']} SUCCESS`).join(', '));
const page = await fetch(new URL('api/procs/upload/u1', server.url));
console.log(page.status, ((await page.json()) as { ledger: Array<{ cause: string }> }).ledger.map((record) => record.cause).join(' → '));

await server.close();
await runtime.close();
