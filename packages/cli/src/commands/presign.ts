import type { Logger, ProducerConfig } from '@obsq/shared';
import { obsClientFromConfig } from '@obsq/storage';
import { parseObjectUrl } from '../obsUrl.js';
import { out } from '../output.js';
import { durationFlag, EXIT, parseFlags, UsageError } from '../usage.js';

/** `obsq presign --help`. */
export const PRESIGN_HELP = `usage: obsq presign obs://bucket/key [--method GET|PUT|HEAD] [--expires 1h] [--content-type T] [--json]

Prints a presigned URL for one object, signed in the configured signature (OBSQ_OBS_SIGNATURE:
obs, v2 or v4 query signing). Whoever holds the URL can do --method on the object until it
expires; V4 URLs live at most 7 days. Nothing is sent to the server.

  --method        GET (default), PUT or HEAD
  --expires       lifetime, e.g. 90s, 15m, 1h (default), 7d
  --content-type  (PUT) sign this Content-Type: the uploader must send exactly it; without it the
                  uploader must send no Content-Type with OBS and V2 signing
  --json          {"url","method","expiresAt","headers"}: headers the user must send unchanged

Example:
  curl -o report.pdf "$(obsq presign obs://reports/2026/report.pdf --expires 15m)"
  curl -T big.iso "$(obsq presign obs://ingest/big.iso --method PUT)"

Exit codes: 0 printed, 2 bad flags or configuration.
`;

const V4_MAX_SECONDS = 7 * 24 * 3600;

/** `obsq presign obs://bucket/key [--method GET|PUT|HEAD] [--expires 1h] [--json]`. */
export function presignCommand(argv: string[], config: ProducerConfig, logger: Logger): Promise<number> {
  const { values, positionals } = parseFlags({
    args: argv,
    allowPositionals: true,
    options: {
      method: { type: 'string', default: 'GET' },
      expires: { type: 'string', default: '1h' },
      'content-type': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) throw new UsageError('presign takes one obs://bucket/key');
  const { bucket, key } = parseObjectUrl(positionals[0]!, 'object');
  const method = values.method.toUpperCase();
  if (method !== 'GET' && method !== 'PUT' && method !== 'HEAD') throw new UsageError(`--method must be GET, PUT or HEAD (got ${JSON.stringify(values.method)})`);
  if (values['content-type'] !== undefined && method !== 'PUT') throw new UsageError('--content-type goes with --method PUT');
  const expiresMs = durationFlag(values.expires, 'expires');
  const seconds = Math.ceil(expiresMs / 1000);
  if (seconds < 1) throw new UsageError(`--expires must be at least 1s (got ${JSON.stringify(values.expires)})`);
  if (config.obs.signature === 'v4' && seconds > V4_MAX_SECONDS) throw new UsageError(`--expires must be at most 7d with V4 signing (got ${JSON.stringify(values.expires)})`);
  const storage = obsClientFromConfig(config.obs, { logger });
  try {
    const signed = storage.createSignedUrl({
      method,
      bucket,
      key,
      expires: seconds,
      ...(values['content-type'] === undefined ? {} : { headers: { 'Content-Type': values['content-type'] } }),
    });
    if (values.json) out(JSON.stringify({ url: signed.signedUrl, method, expiresAt: new Date(Date.now() + seconds * 1000).toISOString(), headers: signed.actualSignedRequestHeaders }));
    else out(signed.signedUrl);
    return Promise.resolve(EXIT.ok);
  } finally {
    void storage.close().catch(() => undefined);
  }
}
