import { ValidationError } from '../errors/index.js';
import { jobCatalog, type JobName } from './jobCatalog.js';

/** Every job name, which is also its BullMQ queue name (one queue per job). */
export const QUEUE_NAMES = Object.keys(jobCatalog) as readonly JobName[];

/**
 * Wraps a BullMQ prefix in a Redis Cluster hash tag, `obsq` → `{obsq}`, so every key of every queue
 * lands in one slot: flows across queues (parts → complete) fail with CROSSSLOT otherwise. A prefix
 * that already holds a non-empty `{...}` tag is returned unchanged.
 *
 * @throws ValidationError for an empty prefix
 */
export function queuePrefix(prefix: string): string {
  if (prefix.length === 0) throw new ValidationError([{ field: 'prefix', rule: 'must not be empty' }]);
  return /\{[^}]+\}/.test(prefix) ? prefix : `{${prefix}}`;
}
