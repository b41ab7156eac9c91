import { ValidationError, coerceError } from '@obsq/shared';
import { z } from 'zod';
import type { FaultInjector } from '../faults/index.js';
import type { ObsSettings } from './handlers/index.js';
import { readSmallBody } from './responses.js';
import type { RequestContext } from './requestContext.js';

/** Path prefix of the admin API (path-style host only; bucket names cannot start with `_`). */
export const ADMIN_PREFIX = '/__devstack/';

const faultsBody = z.union([
  z.array(z.unknown()),
  z.object({ faults: z.array(z.unknown()), seed: z.number().int().optional() }).strict(),
]);

/** Runtime settings schema (see `ObsSettings`): sizes in bytes. */
export const settingsPatchSchema = z
  .object({
    minPartSize: z.number().int().nonnegative().optional(),
    copyObjectMaxBytes: z.number().int().nonnegative().optional(),
    requireContentMd5: z.boolean().optional(),
  })
  .strict();

function sendJson(ctx: RequestContext, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  ctx.res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(body.length) });
  ctx.res.end(body);
}

async function readJson(ctx: RequestContext): Promise<unknown> {
  const raw = (await readSmallBody(ctx, 1024 * 1024)).toString('utf8');
  try {
    return JSON.parse(raw) as unknown;
  } catch (err) {
    throw new ValidationError([{ field: 'body', rule: 'must be JSON' }], { cause: err });
  }
}

function issues(err: z.ZodError): ValidationError {
  return new ValidationError(err.issues.map((i) => ({ field: i.path.join('.') || 'body', rule: i.message })));
}

/**
 * Unauthenticated admin API for tests (devstack port only, never signed):
 * - `GET /__devstack/stats` → `{ operations: { UploadPart: { requests, faults: { error, latency, reset, tamper } } } }`
 * - `DELETE /__devstack/stats` zeroes the counters
 * - `GET /__devstack/faults` → `{ seed, faults }`
 * - `PUT /__devstack/faults` with `[FaultSpec...]` or `{ faults: [...], seed?: n }` replaces the rules
 * - `GET /__devstack/settings`, `PUT /__devstack/settings` with `{ minPartSize?, copyObjectMaxBytes?, requireContentMd5? }`
 * Bad JSON answers 400 `{ error, issues }`.
 */
export async function handleAdmin(
  ctx: RequestContext,
  deps: { faults: FaultInjector; settings: ObsSettings },
): Promise<void> {
  const route = `${ctx.method} ${ctx.rawPath.slice(ADMIN_PREFIX.length)}`;
  try {
    switch (route) {
      case 'GET stats':
        return sendJson(ctx, 200, { operations: deps.faults.stats() });
      case 'DELETE stats':
        deps.faults.resetStats();
        return sendJson(ctx, 200, { operations: {} });
      case 'GET faults':
        return sendJson(ctx, 200, deps.faults.list());
      case 'PUT faults': {
        const parsed = faultsBody.safeParse(await readJson(ctx));
        if (!parsed.success) throw issues(parsed.error);
        const body = parsed.data;
        if (Array.isArray(body)) deps.faults.set(body);
        else deps.faults.set(body.faults, body.seed);
        return sendJson(ctx, 200, deps.faults.list());
      }
      case 'GET settings':
        return sendJson(ctx, 200, deps.settings);
      case 'PUT settings': {
        const parsed = settingsPatchSchema.safeParse(await readJson(ctx));
        if (!parsed.success) throw issues(parsed.error);
        Object.assign(deps.settings, parsed.data);
        return sendJson(ctx, 200, deps.settings);
      }
      default:
        return sendJson(ctx, 404, { error: `no admin route ${route}` });
    }
  } catch (err) {
    const e = coerceError(err);
    sendJson(ctx, err instanceof ValidationError ? 400 : 500, {
      error: e.message,
      ...(err instanceof ValidationError ? { issues: err.issues } : {}),
    });
  }
}
