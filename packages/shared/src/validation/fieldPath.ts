const PLAIN = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * Appends one segment to a field path: `source` + `path` → `source.path`, `formats` + 1 →
 * `formats[1]`, `metadata` + `a b` → `metadata["a b"]`. Odd keys are JSON-quoted so user-chosen text
 * cannot forge another path.
 */
export function joinFieldPath(base: string, segment: string | number): string {
  if (typeof segment === 'number') return `${base}[${segment}]`;
  if (PLAIN.test(segment)) return base === '' ? segment : `${base}.${segment}`;
  return `${base}[${JSON.stringify(segment)}]`;
}

/** The field path of a list of segments (a zod issue path), e.g. `['output', 'formats', 0]` → `output.formats[0]`. */
export function formatFieldPath(segments: ReadonlyArray<PropertyKey>): string {
  return segments.reduce<string>((acc, s) => joinFieldPath(acc, typeof s === 'symbol' ? String(s) : s), '');
}

/** Inverse of {@link formatFieldPath}; returns `undefined` for text that is not a field path. */
export function splitFieldPath(path: string): Array<string | number> | undefined {
  const out: Array<string | number> = [];
  const re = /(^|\.)([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  let at = 0;
  while (at < path.length) {
    re.lastIndex = at;
    const m = re.exec(path);
    if (m === null || (m[1] === '' && at !== 0)) return undefined;
    if (m[2] !== undefined) out.push(m[2]);
    else if (m[3] !== undefined) out.push(Number(m[3]));
    else out.push(JSON.parse(m[4] ?? '""') as string);
    at = re.lastIndex;
  }
  return out;
}
