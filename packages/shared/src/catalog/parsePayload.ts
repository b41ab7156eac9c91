import { ValidationError, type ValidationIssue } from '../errors/index.js';
import { jobCatalog, type JobName, type JobPayload } from './jobCatalog.js';
import { zodIssuesToValidationIssues } from './zodIssues.js';

/** True when `name` is a job in the catalog. */
export function isJobName(name: unknown): name is JobName {
  return typeof name === 'string' && Object.hasOwn(jobCatalog, name);
}

type ParseOutcome<N extends JobName> = { ok: true; payload: JobPayload<N> } | { ok: false; issues: ValidationIssue[]; cause?: unknown };

function check<N extends JobName>(name: N, data: unknown): ParseOutcome<N> {
  if (!isJobName(name)) {
    return { ok: false, issues: [{ field: 'name', rule: `must be one of ${Object.keys(jobCatalog).join(', ')} (got ${JSON.stringify(name)})` }] };
  }
  const result = jobCatalog[name].schema.safeParse(data, { reportInput: true });
  if (result.success) return { ok: true, payload: result.data as JobPayload<N> };
  return { ok: false, issues: zodIssuesToValidationIssues(result.error.issues), cause: result.error };
}

/**
 * Every rule a payload breaks, as `{ field, rule }` with field paths such as `source.path` or
 * `request.vadHead`; empty when the payload is valid.
 */
export function payloadIssues(name: JobName, data: unknown): ValidationIssue[] {
  const outcome = check(name, data);
  return outcome.ok ? [] : outcome.issues;
}

/**
 * Checks a payload against its catalog schema and returns it normalised (defaults filled in). The
 * producer calls it before `queue.add`, the worker again on receipt, so both reject the same input
 * with the same message.
 *
 * @throws ValidationError (permanent) naming every field and broken rule
 */
export function parsePayload<N extends JobName>(name: N, data: unknown): JobPayload<N> {
  const outcome = check(name, data);
  if (outcome.ok) return outcome.payload;
  throw new ValidationError(outcome.issues, { cause: outcome.cause, details: { job: String(name) } });
}
