import { BlockList, isIP } from 'node:net';
import { ObsqError, type ValidationIssue } from '../errors/index.js';

/**
 * One list of URL rules (`OBSQ_URL_ALLOW` or `OBSQ_URL_DENY`): host names (`example.com`), host
 * wildcards (`*.example.com`: any subdomain, not the apex), `*` (any public host), addresses
 * (`10.1.2.3`, `::1`) and CIDRs (`10.0.0.0/8`, `fe80::/10`).
 */
export interface UrlRules {
  /** The entries as written, for messages. */
  readonly entries: readonly string[];
  /** Exact host names, lower case, without a trailing dot. */
  readonly hosts: ReadonlySet<string>;
  /** Wildcard suffixes such as `.example.com`. */
  readonly suffixes: readonly string[];
  /** `*` was listed: any public host matches. */
  readonly anyHost: boolean;
  /** The address and CIDR entries. */
  readonly nets: BlockList;
  /** True when at least one address or CIDR entry was listed. */
  readonly hasNets: boolean;
}

/**
 * Which http(s) URLs obsq may fetch (producer probe, worker range GETs, audio downloads), shared by
 * producer and worker. Decided per connected address, after DNS, by {@link urlAddressRefusal}.
 */
export interface UrlPolicy {
  /** `OBSQ_URL_ALLOW`; undefined: any public address. */
  readonly allow: UrlRules | undefined;
  /** `OBSQ_URL_DENY`: always refused, whatever `allow` says. */
  readonly deny: UrlRules;
  /** Connect, response-headers and body-idle timeout of every URL request, in ms. @defaultValue 30000 */
  readonly timeoutMs: number;
  /** Redirects followed per request, each re-checked against the policy. @defaultValue 5 */
  readonly maxRedirects: number;
}

/** Default `OBSQ_URL_TIMEOUT_MS`. */
export const URL_TIMEOUT_MS_DEFAULT = 30_000;
/** Redirects followed per request (not configurable: more is a loop or an attack). */
export const URL_MAX_REDIRECTS = 5;

/**
 * Addresses that are not the public internet, each refused unless an address or CIDR entry of
 * `OBSQ_URL_ALLOW` covers it. A host name entry is not enough: a name is only as trustworthy as
 * its DNS, and a name under an allowed wildcard can be pointed at 169.254.169.254.
 */
const SPECIAL_RANGES: ReadonlyArray<[string, number, 'ipv4' | 'ipv6', string]> = [
  ['0.0.0.0', 8, 'ipv4', 'unspecified'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['100.64.0.0', 10, 'ipv4', 'shared (CGNAT; holds metadata addresses such as 100.100.100.200)'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local (holds the cloud metadata address 169.254.169.254)'],
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.0.0.0', 24, 'ipv4', 'IETF protocol assignments'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['198.18.0.0', 15, 'ipv4', 'benchmarking'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  ['64:ff9b::', 96, 'ipv6', 'NAT64 (may reach private IPv4)'],
  ['fc00::', 7, 'ipv6', 'unique local (holds metadata addresses such as fd00:ec2::254)'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];

/** Host names of cloud metadata services, refused by name unless listed in `OBSQ_URL_ALLOW`. */
export const METADATA_HOSTS: readonly string[] = ['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data'];

const SPECIAL = (() => {
  const lists = SPECIAL_RANGES.map(([net, prefix, type, label]) => {
    const list = new BlockList();
    list.addSubnet(net, prefix, type);
    return { list, type, label, cidr: `${net}/${prefix}` };
  });
  return lists;
})();

const normalHost = (host: string) => host.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');

/** `::ffff:10.0.0.1` is 10.0.0.1: judge mapped addresses as the IPv4 address they reach. */
export function unmapAddress(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

const familyOf = (address: string): 'ipv4' | 'ipv6' => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

/** The special range an address falls in (`loopback`, `link-local …`), or undefined when public. */
export function specialRangeOf(address: string): { label: string; cidr: string } | undefined {
  const a = unmapAddress(address);
  const type = familyOf(a);
  const hit = SPECIAL.find((s) => s.type === type && s.list.check(a, type));
  return hit ? { label: hit.label, cidr: hit.cidr } : undefined;
}

/**
 * Parses one rule list (comma or whitespace separated). Bad entries are returned as issues naming
 * `variable`, so a config error says which entry is wrong.
 */
export function parseUrlRules(text: string, variable: string): { rules: UrlRules; issues: ValidationIssue[] } {
  const entries = text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const hosts = new Set<string>();
  const suffixes: string[] = [];
  const nets = new BlockList();
  let anyHost = false;
  let hasNets = false;
  const issues: ValidationIssue[] = [];
  for (const entry of entries) {
    const cidr = /^\[?([0-9a-fA-F:.]+)\]?(?:\/(\d{1,3}))?$/.exec(entry);
    if (cidr && isIP(cidr[1]!)) {
      const address = unmapAddress(cidr[1]!);
      const type = familyOf(address);
      const max = type === 'ipv4' ? 32 : 128;
      const prefix = cidr[2] === undefined ? max : Number(cidr[2]);
      if (prefix > max) {
        issues.push({ field: variable, rule: `entry ${JSON.stringify(entry)} has a prefix longer than ${max}` });
        continue;
      }
      nets.addSubnet(address, prefix, type);
      hasNets = true;
    } else if (entry === '*') {
      anyHost = true;
    } else if (/^\*\.([a-z0-9-]+\.)*[a-z0-9-]+\.?$/i.test(entry)) {
      suffixes.push(normalHost(entry.slice(1)));
    } else if (/^([a-z0-9_-]+\.)*[a-z0-9_-]+\.?$/i.test(entry)) {
      hosts.add(normalHost(entry));
    } else {
      issues.push({
        field: variable,
        rule: `entry ${JSON.stringify(entry.slice(0, 80))} is not a host name, *.wildcard, *, IP address or CIDR`,
      });
    }
  }
  return { rules: { entries, hosts, suffixes, anyHost, nets, hasNets }, issues };
}

function hostMatches(rules: UrlRules, host: string): boolean {
  const h = normalHost(host);
  return rules.hosts.has(h) || rules.suffixes.some((s) => h.endsWith(s) && h.length > s.length);
}

function netMatches(rules: UrlRules, address: string): boolean {
  if (!rules.hasNets) return false;
  const a = unmapAddress(address);
  return rules.nets.check(a, familyOf(a));
}

/** The policy when nothing is configured: any public address, 30 s timeouts. */
export function defaultUrlPolicy(): UrlPolicy {
  return { allow: undefined, deny: parseUrlRules('', 'OBSQ_URL_DENY').rules, timeoutMs: URL_TIMEOUT_MS_DEFAULT, maxRedirects: URL_MAX_REDIRECTS };
}

/** Builds a policy from the variables' text; throws nothing, returns the issues. */
export function urlPolicyFrom(p: { allow?: string | undefined; deny?: string | undefined; timeoutMs?: number | undefined }): {
  policy: UrlPolicy;
  issues: ValidationIssue[];
} {
  const allow = p.allow === undefined || p.allow.trim() === '' ? undefined : parseUrlRules(p.allow, 'OBSQ_URL_ALLOW');
  const deny = parseUrlRules(p.deny ?? '', 'OBSQ_URL_DENY');
  return {
    policy: { allow: allow?.rules, deny: deny.rules, timeoutMs: p.timeoutMs ?? URL_TIMEOUT_MS_DEFAULT, maxRedirects: URL_MAX_REDIRECTS },
    issues: [...(allow?.issues ?? []), ...deny.issues],
  };
}

/** Why the policy refuses a host name before any DNS lookup, or undefined. */
export function urlHostRefusal(policy: UrlPolicy, host: string): string | undefined {
  const h = normalHost(host);
  if (hostMatches(policy.deny, h)) return `host ${h} is listed in OBSQ_URL_DENY`;
  if (METADATA_HOSTS.includes(h) && !(policy.allow && hostMatches(policy.allow, h))) {
    return `host ${h} is a cloud metadata service; list it in OBSQ_URL_ALLOW to allow it`;
  }
  return undefined;
}

/**
 * Why the policy refuses connecting to `address` for `host`, or undefined when allowed:
 * 1. `OBSQ_URL_DENY` (host or address) always wins;
 * 2. a non-public address (loopback, private, link-local, metadata, …) needs an address or CIDR
 *    entry of `OBSQ_URL_ALLOW` covering it;
 * 3. a public address is allowed when `OBSQ_URL_ALLOW` is unset, lists `*`, the host, or the address.
 */
export function urlAddressRefusal(policy: UrlPolicy, host: string, address: string): string | undefined {
  const byHost = urlHostRefusal(policy, host);
  if (byHost) return byHost;
  const a = unmapAddress(address);
  if (netMatches(policy.deny, a)) return `address ${a} of ${normalHost(host)} is listed in OBSQ_URL_DENY`;
  const special = specialRangeOf(a);
  if (special) {
    if (policy.allow && netMatches(policy.allow, a)) return undefined;
    return `address ${a} of ${normalHost(host)} is ${special.label} (${special.cidr}); list it in OBSQ_URL_ALLOW as an address or CIDR to allow it`;
  }
  const allow = policy.allow;
  if (!allow || allow.anyHost || hostMatches(allow, host) || netMatches(allow, a)) return undefined;
  return `host ${normalHost(host)} (${a}) is not listed in OBSQ_URL_ALLOW (${allow.entries.join(',')})`;
}

/** The refusal as an error: permanent, since the same URL is refused again on every retry. */
export function urlForbidden(field: string, reason: string): ObsqError {
  return new ObsqError('OBSQ_URL_FORBIDDEN', `${field}: ${reason}`, { permanent: true });
}

/**
 * Query parameter names that look like a credential: ending (any prefix, case-insensitive, `-`/`_`
 * ignored) in sig, signature, token, credential(s), key, keyid, secret or password. Covers
 * `X-Amz-Signature`, `X-Goog-Signature`, `X-Goog-Credential`, `sig` (Azure SAS), `api_key`,
 * `AccessKeyId`, `x-obs-security-token`.
 */
export const CREDENTIAL_PARAM = /(sig|signature|token|credentials?|key|keyid|secret|password|passwd)$/;

/** Query parameter names of `url` that look like credentials (see {@link CREDENTIAL_PARAM}). */
export function credentialParams(url: URL): string[] {
  return [...new Set([...url.searchParams.keys()].filter((k) => CREDENTIAL_PARAM.test(k.toLowerCase().replace(/[-_]/g, ''))))];
}
