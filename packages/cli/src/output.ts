import { isSuccess, type StoredResult } from '@obsq/shared';

/** Writes a line to stdout (the CLI's output channel; logs go to stderr). */
export function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Prints a record as JSON or as a short human summary; returns the exit code it implies. */
export function printRecord(rec: StoredResult, json: boolean): number {
  if (json) out(JSON.stringify(rec.result));
  else {
    const r = rec.result;
    out(`job ${rec.jobId} (${rec.queue}): ${r.status} ${r.reason}${r.errorCode ? ` ${r.errorCode}: ${r.errorMessage}` : ''}`);
    if (r.body) out(JSON.stringify(r.body, null, 2));
  }
  return isSuccess(rec.result) ? 0 : 1;
}
