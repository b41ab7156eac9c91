import { parseUrlRules, urlPolicyFrom, URL_TIMEOUT_MS_DEFAULT, type UrlPolicy } from '../net/index.js';
import { intEnv, stringEnv } from './envFields.js';

const rulesCheck = (variable: string) => (raw: string) => parseUrlRules(raw, variable).issues[0]?.rule;

/** Variables of the URL policy, read by producer and worker alike. */
export const urlEnvShape = {
  OBSQ_URL_ALLOW: stringEnv({ default: undefined, check: rulesCheck('OBSQ_URL_ALLOW') }),
  OBSQ_URL_DENY: stringEnv({ default: undefined, check: rulesCheck('OBSQ_URL_DENY') }),
  OBSQ_URL_TIMEOUT_MS: intEnv({ default: URL_TIMEOUT_MS_DEFAULT, min: 100, max: 3_600_000 }),
};

/** The policy from the parsed variables. */
export function toUrlPolicy(env: { OBSQ_URL_ALLOW?: string | undefined; OBSQ_URL_DENY?: string | undefined; OBSQ_URL_TIMEOUT_MS: number }): UrlPolicy {
  return urlPolicyFrom({ allow: env.OBSQ_URL_ALLOW, deny: env.OBSQ_URL_DENY, timeoutMs: env.OBSQ_URL_TIMEOUT_MS }).policy;
}
