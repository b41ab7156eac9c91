import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

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
