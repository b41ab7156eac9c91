import { z } from 'zod';
import { COPY_OBJECT_MAX_BYTES, ENDPOINT_FLAVOURS, MAX_PART_SIZE, type EndpointFlavour } from '../validation/index.js';
import { boolEnv, enumEnv, sizeEnv, stringEnv, urlEnv } from './envFields.js';
import { addConfigIssues, ALSO_AFTER_FIELD_ERRORS, type ConfigIssue } from './parseEnv.js';

/** Object-storage settings shared by producer and worker. */
export interface ObsConfig {
  /** Endpoint URL, e.g. `https://obs.cn-north-4.myhuaweicloud.com`, no trailing slash. */
  endpoint: string;
  /** @defaultValue `'cn-north-4'` */
  region: string;
  /** Request signing: OBS native, AWS V2, or AWS V4. @defaultValue `'obs'` */
  signature: 'obs' | 'v2' | 'v4';
  /** Path-style addressing (`endpoint/bucket/key`) instead of virtual-hosted. @defaultValue false */
  pathStyle: boolean;
  /** Secret: never log (see `redactConfig`). */
  accessKeyId: string;
  /** Secret. */
  secretAccessKey: string;
  /** Secret; set for temporary credentials only. */
  securityToken?: string;
  /** Server dialect. @defaultValue `'s3'` when `signature` is `v4`, else `'obs'` */
  flavour: EndpointFlavour;
  /** Smallest part, in bytes. @defaultValue the flavour's (100 KiB obs, 5 MiB s3) */
  minPartSize: number;
  /** Largest object copied with one CopyObject, in bytes, at most 5 GiB. @defaultValue 5 GiB */
  copyThreshold: number;
}

/** The variables of {@link ObsConfig}, as zod fields keyed by name. */
export const obsEnvShape = {
  OBSQ_OBS_ENDPOINT: urlEnv(['https:', 'http:'], undefined),
  OBSQ_OBS_REGION: stringEnv({ default: 'cn-north-4' }),
  OBSQ_OBS_SIGNATURE: enumEnv(['obs', 'v2', 'v4'] as const, 'obs'),
  OBSQ_OBS_PATH_STYLE: boolEnv(false),
  OBSQ_OBS_ACCESS_KEY_ID: stringEnv({ default: undefined, secret: true }),
  OBSQ_OBS_SECRET_ACCESS_KEY: stringEnv({ default: undefined, secret: true }),
  OBSQ_OBS_SECURITY_TOKEN: stringEnv({ default: undefined, secret: true }),
  // The Huawei SDK examples read these names (seed §7); ours win when both are set.
  AccessKeyID: stringEnv({ default: undefined, secret: true }),
  SecretAccessKey: stringEnv({ default: undefined, secret: true }),
  SecurityToken: stringEnv({ default: undefined, secret: true }),
  OBSQ_OBS_FLAVOUR: enumEnv(['obs', 's3'] as const, undefined),
  OBSQ_OBS_MIN_PART_SIZE: sizeEnv(undefined, 1, MAX_PART_SIZE),
  OBSQ_COPY_THRESHOLD: sizeEnv(COPY_OBJECT_MAX_BYTES, 0, COPY_OBJECT_MAX_BYTES),
};

type ObsEnv = z.output<z.ZodObject<typeof obsEnvShape>>;

/** Cross-variable rules of the OBS section. */
export function obsEnvIssues(env: ObsEnv): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (env.OBSQ_OBS_ENDPOINT === undefined) issues.push({ variable: 'OBSQ_OBS_ENDPOINT', rule: 'is required' });
  if ((env.OBSQ_OBS_ACCESS_KEY_ID ?? env.AccessKeyID) === undefined) {
    issues.push({ variable: 'OBSQ_OBS_ACCESS_KEY_ID', rule: 'is required (or set AccessKeyID, the Huawei SDK name)' });
  }
  if ((env.OBSQ_OBS_SECRET_ACCESS_KEY ?? env.SecretAccessKey) === undefined) {
    issues.push({ variable: 'OBSQ_OBS_SECRET_ACCESS_KEY', rule: 'is required (or set SecretAccessKey, the Huawei SDK name)' });
  }
  return issues;
}

/** Builds the section from parsed variables; call after {@link obsEnvIssues} found nothing. */
export function toObsConfig(env: ObsEnv): ObsConfig {
  const flavour = env.OBSQ_OBS_FLAVOUR ?? (env.OBSQ_OBS_SIGNATURE === 'v4' ? 's3' : 'obs');
  const securityToken = env.OBSQ_OBS_SECURITY_TOKEN ?? env.SecurityToken;
  return {
    endpoint: env.OBSQ_OBS_ENDPOINT ?? '',
    region: env.OBSQ_OBS_REGION ?? 'cn-north-4',
    signature: env.OBSQ_OBS_SIGNATURE,
    pathStyle: env.OBSQ_OBS_PATH_STYLE,
    accessKeyId: env.OBSQ_OBS_ACCESS_KEY_ID ?? env.AccessKeyID ?? '',
    secretAccessKey: env.OBSQ_OBS_SECRET_ACCESS_KEY ?? env.SecretAccessKey ?? '',
    ...(securityToken === undefined ? {} : { securityToken }),
    flavour,
    minPartSize: env.OBSQ_OBS_MIN_PART_SIZE ?? ENDPOINT_FLAVOURS[flavour].minPartSize,
    copyThreshold: env.OBSQ_COPY_THRESHOLD,
  };
}

/** Schema of the OBS variables alone (producer and worker embed the same fields). */
export const obsConfigSchema = z
  .looseObject(obsEnvShape)
  .superRefine((env, ctx) => addConfigIssues(ctx, obsEnvIssues(env)), ALSO_AFTER_FIELD_ERRORS)
  .transform((env) => toObsConfig(env));
