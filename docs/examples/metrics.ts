import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metrics } from '@opentelemetry/api';
import { ConsoleMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { createProcRuntime, defineKind, PROMETHEUS_CONTENT_TYPE, prometheusText } from 'procstate';

// An OpenTelemetry SDK, registered before the runtime is created: a meter handed out earlier
// stays a no-op. In production, export to your backend (OTLP, Prometheus) instead of the console.
const reader = new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter(), exportIntervalMillis: 60_000 });
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));

const upload = defineKind({ name: 'upload', processes: { process_upload: { run: async () => undefined } } });
const runtime = createProcRuntime({ kinds: [upload] });
await runtime.start();
await runtime.create('upload', 'u1');
await runtime.call('upload', 'u1', 'process_upload');
await runtime.waitForCompletion('upload', 'u1');

// With or without an SDK, the same values as Prometheus text, on a /metrics of your own.
const server = createServer((_request, response) => {
  response.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
  response.end(prometheusText([runtime.metrics()]));
}).listen(0, '127.0.0.1');
await once(server, 'listening');
const { port } = server.address() as AddressInfo;
const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
console.log(text.split('\n').filter((line) => line.startsWith('procstate_runs_total')).join('\n'));
server.close();
await runtime.close();
