/**
 * CPU time the database server spent (FerretDB and the PostgreSQL under it), from /proc, so a
 * figure can say whether the server or the workers were the bottleneck. Linux only; elsewhere,
 * and for a server on another machine, it reads nothing.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const SERVER = /^(ferretdb|postgres)/;
let ticksPerSecond: number | undefined;

/** Seconds of CPU the server's processes have used so far (exited PostgreSQL backends included), or undefined. */
function serverCpuSeconds(): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  let ticks = 0;
  let found = false;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    // pid (comm) state …: the name is in parentheses and may hold spaces.
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    if (!SERVER.test(name)) continue;
    found = true;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime, cutime, cstime: fields 14–17 of stat(5), 12–15 after the name.
    ticks += [11, 12, 13, 14].reduce((sum, index) => sum + Number(fields[index] ?? 0), 0);
  }
  return found ? ticks / ticksPerSecond : undefined;
}

/** How many cores the server kept busy on average while `run` ran, with its result. */
export async function withServerCpu<T>(run: () => Promise<T>): Promise<{ result: T; cores: number | undefined }> {
  const before = serverCpuSeconds();
  const started = performance.now();
  const result = await run();
  const after = serverCpuSeconds();
  const seconds = (performance.now() - started) / 1000;
  return { result, cores: before === undefined || after === undefined ? undefined : (after - before) / seconds };
}
