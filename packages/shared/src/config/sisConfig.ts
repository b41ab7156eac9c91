import { z } from 'zod';
import { enumEnv, intEnv, numberEnv, stringEnv, urlEnv } from './envFields.js';
import { addConfigIssues, ALSO_AFTER_FIELD_ERRORS, type ConfigIssue } from './parseEnv.js';

/** How the worker authenticates to SIS: AK/SK signing, or an IAM project token. Secrets. */
export type SisAuth = { kind: 'aksk'; ak: string; sk: string } | { kind: 'token'; token: string };

/** Speech-recognition settings (worker only). */
export interface SisConfig {
  /** Engine for jobs that do not name one. @defaultValue `'sis'` */
  transcriber: 'sis' | 'local';
  /** `wss://` (or `ws://` for a local test server) base URL. @defaultValue `wss://sis-ext.{region}.myhuaweicloud.com` */
  endpoint: string;
  /** @defaultValue `'cn-north-4'` */
  region: string;
  /** Project id of `region`; required when `transcriber` is `sis`. */
  projectId?: string;
  /** AK/SK when both are set (they do not expire), else the token; required when `transcriber` is `sis`. */
  auth?: SisAuth;
  /** Websocket connect (handshake) timeout, in ms. @defaultValue 10000 */
  connectTimeoutMs: number;
  /** Longest wait for a server message once audio is flowing, in ms. @defaultValue 10000 */
  readTimeoutMs: number;
  /** Bytes per binary audio frame; 320–32768 suits every format's limits. @defaultValue 3200 */
  frameBytes: number;
  /** Audio sent per wall-clock second, as a multiple of real time; 0 = as fast as allowed. @defaultValue 1 */
  pace: number;
}

/** The variables of {@link SisConfig}. */
export const sisEnvShape = {
  // No default here: SIS credentials are required at start only when sis is chosen explicitly, so
  // workers that never transcribe need no SIS settings (toSisConfig still defaults to sis).
  OBSQ_TRANSCRIBER: enumEnv(['sis', 'local'] as const, undefined),
  OBSQ_SIS_ENDPOINT: urlEnv(['wss:', 'ws:'], undefined),
  OBSQ_SIS_REGION: stringEnv({ default: 'cn-north-4' }),
  OBSQ_SIS_PROJECT_ID: stringEnv({ default: undefined }),
  OBSQ_SIS_AK: stringEnv({ default: undefined, secret: true }),
  OBSQ_SIS_SK: stringEnv({ default: undefined, secret: true }),
  // The SIS SDK examples read these names (seed §8); ours win when both are set.
  HUAWEICLOUD_SIS_AK: stringEnv({ default: undefined, secret: true }),
  HUAWEICLOUD_SIS_SK: stringEnv({ default: undefined, secret: true }),
  OBSQ_SIS_TOKEN: stringEnv({ default: undefined, secret: true }),
  OBSQ_SIS_CONNECT_TIMEOUT_MS: intEnv({ default: 10_000 }),
  OBSQ_SIS_READ_TIMEOUT_MS: intEnv({ default: 10_000 }),
  // 8 kHz frames must be 160–32768 bytes and 16 kHz frames 320–65536: the overlap fits every format.
  OBSQ_SIS_FRAME_BYTES: intEnv({ default: 3200, min: 320, max: 32_768 }),
  OBSQ_SIS_PACE: numberEnv(1),
};

type SisEnv = z.output<z.ZodObject<typeof sisEnvShape>>;

/** Cross-variable rules: with `OBSQ_TRANSCRIBER=sis` set explicitly, the project id and credentials are required. */
export function sisEnvIssues(env: SisEnv): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const ak = env.OBSQ_SIS_AK ?? env.HUAWEICLOUD_SIS_AK;
  const sk = env.OBSQ_SIS_SK ?? env.HUAWEICLOUD_SIS_SK;
  if (ak !== undefined && sk === undefined) {
    issues.push({ variable: 'OBSQ_SIS_SK', rule: 'is required when an AK is set (or set HUAWEICLOUD_SIS_SK)' });
  }
  if (sk !== undefined && ak === undefined) {
    issues.push({ variable: 'OBSQ_SIS_AK', rule: 'is required when an SK is set (or set HUAWEICLOUD_SIS_AK)' });
  }
  if (env.OBSQ_TRANSCRIBER === 'sis') {
    if (env.OBSQ_SIS_PROJECT_ID === undefined) {
      issues.push({ variable: 'OBSQ_SIS_PROJECT_ID', rule: 'is required when OBSQ_TRANSCRIBER is "sis"' });
    }
    if (ak === undefined && sk === undefined && env.OBSQ_SIS_TOKEN === undefined) {
      issues.push({
        variable: 'OBSQ_SIS_AK',
        rule: 'is required when OBSQ_TRANSCRIBER is "sis": set OBSQ_SIS_AK and OBSQ_SIS_SK (or HUAWEICLOUD_SIS_AK and HUAWEICLOUD_SIS_SK), or OBSQ_SIS_TOKEN',
      });
    }
  }
  return issues;
}

/** Builds the section from parsed variables. */
export function toSisConfig(env: SisEnv): SisConfig {
  const region = env.OBSQ_SIS_REGION ?? 'cn-north-4';
  const ak = env.OBSQ_SIS_AK ?? env.HUAWEICLOUD_SIS_AK;
  const sk = env.OBSQ_SIS_SK ?? env.HUAWEICLOUD_SIS_SK;
  const auth: SisAuth | undefined =
    ak !== undefined && sk !== undefined
      ? { kind: 'aksk', ak, sk }
      : env.OBSQ_SIS_TOKEN !== undefined
        ? { kind: 'token', token: env.OBSQ_SIS_TOKEN }
        : undefined;
  return {
    transcriber: env.OBSQ_TRANSCRIBER ?? 'sis',
    endpoint: env.OBSQ_SIS_ENDPOINT ?? `wss://sis-ext.${region}.myhuaweicloud.com`,
    region,
    ...(env.OBSQ_SIS_PROJECT_ID === undefined ? {} : { projectId: env.OBSQ_SIS_PROJECT_ID }),
    ...(auth === undefined ? {} : { auth }),
    connectTimeoutMs: env.OBSQ_SIS_CONNECT_TIMEOUT_MS,
    readTimeoutMs: env.OBSQ_SIS_READ_TIMEOUT_MS,
    frameBytes: env.OBSQ_SIS_FRAME_BYTES,
    pace: env.OBSQ_SIS_PACE,
  };
}

/** Schema of the SIS variables alone. */
export const sisConfigSchema = z
  .looseObject(sisEnvShape)
  .superRefine((env, ctx) => addConfigIssues(ctx, sisEnvIssues(env)), ALSO_AFTER_FIELD_ERRORS)
  .transform((env) => toSisConfig(env));
