import type { ObsConfig } from '../config/index.js';
import { ObsClient } from '../storage/index.js';
import type { ObsClientOptions } from '../storage/index.js';

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
