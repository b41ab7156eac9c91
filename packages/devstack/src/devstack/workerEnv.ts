/** What {@link devstackWorkerEnv} needs: where Redis and the local servers are. */
export interface DevstackWorkerEnvInput {
  /** The OBS-compatible server (`Devstack.obs`, or the ready line's `obs`). */
  obs: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string };
  /** The SIS server (`Devstack.sis`, or the ready line's `sis`); without it workers use the local engine only. */
  sis?: { endpoint: string; region: string; projectId: string; ak: string; sk: string };
  /** Redis URLs; several only with `redisCluster`. */
  redisUrls: readonly string[];
  /** @defaultValue false */
  redisCluster?: boolean;
  /** The workers' `OBSQ_SOURCE_ROOTS`. */
  sourceRoots: string;
  /** Smallest part the devstack accepts, in bytes. */
  minPartSize: number;
}

/**
 * The `OBSQ_*` variables that point a worker at a local stack: V4 signing with path-style
 * addressing (the endpoint is an IP), unpaced SIS audio, metrics on a free loopback port. Callers
 * spread their own overrides after it.
 */
export function devstackWorkerEnv(input: DevstackWorkerEnvInput): Record<string, string> {
  const { obs, sis } = input;
  return {
    OBSQ_REDIS_URL: input.redisUrls.join(','),
    OBSQ_REDIS_CLUSTER: input.redisCluster ? 'true' : 'false',
    OBSQ_OBS_ENDPOINT: obs.endpoint,
    OBSQ_OBS_REGION: obs.region,
    OBSQ_OBS_SIGNATURE: 'v4',
    OBSQ_OBS_PATH_STYLE: 'true',
    OBSQ_OBS_ACCESS_KEY_ID: obs.accessKeyId,
    OBSQ_OBS_SECRET_ACCESS_KEY: obs.secretAccessKey,
    OBSQ_OBS_MIN_PART_SIZE: String(input.minPartSize),
    OBSQ_TRANSCRIBER: 'local',
    ...(sis
      ? {
          OBSQ_SIS_ENDPOINT: sis.endpoint,
          OBSQ_SIS_REGION: sis.region,
          OBSQ_SIS_PROJECT_ID: sis.projectId,
          OBSQ_SIS_AK: sis.ak,
          OBSQ_SIS_SK: sis.sk,
          OBSQ_SIS_PACE: '0',
        }
      : {}),
    OBSQ_SOURCE_ROOTS: input.sourceRoots,
    // Everything of a local stack (and the tests' own http servers) is on loopback, which the URL
    // policy refuses unless listed.
    OBSQ_URL_ALLOW: '127.0.0.0/8,::1',
    OBSQ_METRICS_HOST: '127.0.0.1',
    OBSQ_METRICS_PORT: '0',
  };
}
