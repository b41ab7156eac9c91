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
