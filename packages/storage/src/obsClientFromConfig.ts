import type { ObsConfig } from '@obsq/shared';
import { ObsClient } from './obsClient.js';
import type { ObsClientOptions } from './obsClientOptions.js';

/** Builds the object-storage client of a service from its parsed config (credentials stay in memory). */
export function obsClientFromConfig(cfg: ObsConfig, extra: Partial<ObsClientOptions> = {}): ObsClient {
  return new ObsClient({
    endpoint: cfg.endpoint,
    region: cfg.region,
    signature: cfg.signature,
    pathStyle: cfg.pathStyle,
    flavour: cfg.flavour,
    credentials: { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey, securityToken: cfg.securityToken },
    ...extra,
  });
}
