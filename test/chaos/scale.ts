/**
 * The chaos suite's sizes: reduced inside `npm test` (and CI), full with `npm run test:chaos`.
 * Every test writes what it did to .cache/chaos/<name>.json, which docs/reliability.md reports.
 */
import { mkdirSync, writeFileSync } from 'node:fs';

const FULL = process.env['CHAOS_SCALE'] === 'full';

/** The reduced or the full size. */
export function scale(reduced: number, full: number): number {
  return FULL ? full : reduced;
}

/** Records a test's figures for the reliability report. */
export function record(name: string, figures: Record<string, unknown>): void {
  const directory = new URL('../../.cache/chaos/', import.meta.url);
  mkdirSync(directory, { recursive: true });
  writeFileSync(new URL(`${name}.json`, directory), `${JSON.stringify({ at: new Date().toISOString(), scale: FULL ? 'full' : 'reduced', ...figures }, null, 2)}\n`);
}
