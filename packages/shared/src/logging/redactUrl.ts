const SECRET_PARAMS = [
  'Signature',
  'AccessKeyId',
  'X-Amz-Signature',
  'X-Amz-Credential',
  'X-Amz-Security-Token',
  'X-Obs-Signature',
  'X-Obs-Credential',
  'X-Obs-Security-Token',
];
const PARAM = new RegExp(`([?&](?:${SECRET_PARAMS.join('|')})=)[^&#\\s]*`, 'gi');
const USERINFO = /(\/\/)[^/@\s]*@/g;

/**
 * Blanks the secrets in a URL: signature and credential query parameters (OBS v2 `Signature`,
 * `AccessKeyId`; SigV4 `X-Amz-Signature`, `X-Amz-Credential`, security tokens) and any
 * `user:password@`. Works on text, so relative and malformed URLs are handled too.
 */
export function redactUrl(url: string): string {
  return url.replace(PARAM, '$1REDACTED').replace(USERINFO, '$1REDACTED@');
}
