/**
 * Query parameters that are part of the OBS/V2 canonical resource, compared lower-cased.
 * Union of the OBS Node SDK `allowedResourceParameterNames`, the Python SDK list and AWS's V2
 * list (obs-api.md §3.1): anything else (`max-parts`, `prefix`, `marker`...) is never signed.
 */
export const SUB_RESOURCES: ReadonlySet<string> = new Set([
  'acl', 'accelerate', 'analytics', 'append', 'attname', 'backtosource', 'bucketstatus', 'cors',
  'customdomain', 'delete', 'deletebucket', 'directcoldaccess', 'encryption', 'fileinterface',
  'inventory', 'length', 'lifecycle', 'location', 'logging', 'metadata', 'metrics',
  'mirrorbacktosource', 'modify', 'name', 'notification', 'object-lock', 'obsalias',
  'obsbucketalias', 'obscompresspolicy', 'obsworkflowtriggerpolicy', 'partnumber', 'policy',
  'policystatus', 'position', 'publicaccessblock', 'quota', 'rename', 'replication',
  'requestpayment', 'response-cache-control', 'response-content-disposition',
  'response-content-encoding', 'response-content-language', 'response-content-type',
  'response-expires', 'restore', 'retention', 'storageclass', 'storageinfo', 'storagepolicy',
  'tagging', 'torrent', 'truncate', 'uploadid', 'uploads', 'versionid', 'versioning', 'versions',
  'website', 'x-image-process', 'x-image-save-bucket', 'x-image-save-object', 'x-oss-process',
  'x-workflow-execution-state', 'x-workflow-execution-type', 'x-workflow-graph-name',
  'x-workflow-limit', 'x-workflow-next-marker', 'x-workflow-prefix', 'x-workflow-start',
  'x-workflow-template-name',
]);

/**
 * True when query parameter `name` belongs in the canonical resource. Names starting with the
 * mode's header prefix (`x-obs-`/`x-amz-`, e.g. `x-obs-security-token` in presigned URLs) count
 * too, as in the Python SDK and the Node SDK's presigner.
 */
export function isSubResource(name: string, headerPrefix: string): boolean {
  const lower = name.toLowerCase();
  return SUB_RESOURCES.has(lower) || lower.startsWith(headerPrefix);
}
