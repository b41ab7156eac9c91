import { createRequire } from 'node:module';

/** `@obsq/worker`'s package version, bound to every log line and `obsq_worker_info`. */
export const WORKER_VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
