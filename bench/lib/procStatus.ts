import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';

/** Memory figures of a live process, from `/proc/<pid>/status` (Linux only), in bytes. */
export interface ProcMemory {
  /** `VmRSS`: resident set size now. */
  rssBytes: number;
  /** `VmHWM`: peak resident set size since the process started ("high water mark"). */
  peakRssBytes: number;
}

function field(status: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
  if (!m) throw new Error(`/proc status has no ${name} line (not Linux, or the process has exited)`);
  return Number(m[1]) * 1024;
}

/** Reads `VmRSS` and `VmHWM` of `pid`; the process must still be running. */
export async function procMemory(pid: number): Promise<ProcMemory> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return { rssBytes: field(status, 'VmRSS'), peakRssBytes: field(status, 'VmHWM') };
}

let clockTicks: number | undefined;

/** User + system CPU seconds `pid` has used so far, from `/proc/<pid>/stat` (Linux only). */
export async function procCpuSeconds(pid: number): Promise<number> {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/** Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`; 100 on Linux x86). */
const CLK_TCK = 100;

/** Fields of `/proc/<pid>/stat` after the `(comm)` field, 0-based from field 3 (state). */
async function statFields(pid: number): Promise<string[] | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds (user + system) used so far by `pid` and every live descendant (e.g. a worker and
 * its warm engines), plus what finished children were charged (`cutime`/`cstime`). 0 for a
 * process that is gone. Linux only.
 */
export async function procTreeCpuSeconds(pid: number): Promise<number> {
  const f = await statFields(pid);
  if (!f) return 0;
  // utime, stime, cutime, cstime are fields 14–17 (1-based), i.e. 11–14 here.
  let ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  for (const child of await childPids(pid)) ticks += (await procTreeCpuSeconds(child)) * CLK_TCK;
  return ticks / CLK_TCK;
}

async function childPids(pid: number): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = await statFields(Number(name));
    // ppid is field 4 (1-based), i.e. 1 here.
    if (f && Number(f[1]) === pid) out.push(Number(name));
  }
  return out;
}
