/** Longest string field a log line carries, in characters (keys, URLs, messages). */
export const LOG_FIELD_MAX_CHARS = 2048;
/** Longest `errorMessage` a record keeps, in characters. */
export const RECORD_MESSAGE_MAX_CHARS = 8192;
/** Longest rule text one validation issue keeps, in characters (it may quote user input). */
export const ISSUE_RULE_MAX_CHARS = 1024;

/**
 * `text` cut to `max` characters with its full length noted (`… [truncated, 10485760 chars]`), so a
 * hostile 10 MiB key cannot turn into a 20 MiB log line or record. Never splits a surrogate pair.
 */
export function capText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${text.slice(0, end)}… [truncated, ${text.length} chars]`;
}
