/**
 * Merges the V8 coverage of the test legs (`.cache/coverage/<leg>/coverage-final.json`, written
 * by `PROCSTATE_COVERAGE=1 npm test`) and prints it: a table per file, then every branch no leg
 * executed, by file and line, so that each can be listed with its reason (docs/persistence.md).
 * Writes the merged table to `.cache/coverage/merged/coverage.txt` too.
 *
 *   node --import tsx scripts/coverage-report.ts [.cache/coverage]
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import libCoverage from 'istanbul-lib-coverage';
import libReport from 'istanbul-lib-report';
import reports from 'istanbul-reports';

const root = process.argv[2] ?? '.cache/coverage';
const legs = existsSync(root) ? readdirSync(root).filter((leg) => leg !== 'merged' && existsSync(join(root, leg, 'coverage-final.json'))) : [];
if (legs.length === 0) {
  console.error(`coverage-report: no coverage-final.json under ${root}/<leg>/`);
  process.exit(1);
}
const map = libCoverage.createCoverageMap({});
for (const leg of legs) map.merge(JSON.parse(readFileSync(join(root, leg, 'coverage-final.json'), 'utf8')) as libCoverage.CoverageMapData);

const context = libReport.createContext({ dir: join(root, 'merged'), coverageMap: map });
reports.create('text', { maxCols: 120 }).execute(context);
reports.create('text', { file: 'coverage.txt' }).execute(context);

const unexecuted: string[] = [];
for (const file of map.files().sort()) {
  const coverage = map.fileCoverageFor(file);
  const { branchMap, b: hits } = coverage.data;
  for (const [id, counts] of Object.entries(hits)) {
    counts.forEach((count, index) => {
      if (count > 0) return;
      const branch = branchMap[id];
      const location = branch?.locations[index] ?? branch?.loc;
      unexecuted.push(`${relative(process.cwd(), file)}:${location?.start.line ?? '?'} ${branch?.type ?? 'branch'} ${index}`);
    });
  }
}
console.log(`\nBranches no leg executed (${legs.join(' + ')}): ${unexecuted.length}`);
for (const line of unexecuted) console.log(`  ${line}`);
