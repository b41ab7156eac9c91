import { ValidationError } from '@obsq/shared';

/**
 * rclone-style glob to RegExp, matched against a relative POSIX path: `*` within one path element,
 * `**` across elements, `?` one character, `[...]` a class, `{a,b}` alternatives. A pattern that
 * starts with `/` matches from the root only; otherwise it matches whole trailing path elements
 * (`*.jpg` matches `a/b/c.jpg`; `b/*.jpg` matches `a/b/c.jpg` but not `ab/c.jpg`).
 */
export function globToRegExp(glob: string, field = 'glob'): RegExp {
  if (glob === '' || glob.length > 1024) throw new ValidationError([{ field, rule: 'must be 1 to 1024 characters' }]);
  const anchored = glob.startsWith('/');
  const g = anchored ? glob.slice(1) : glob;
  let re = '';
  let braces = 0;
  for (let i = 0; i < g.length; i++) {
    const c = g[i]!;
    if (c === '*') {
      if (g[i + 1] === '*') {
        re += '.*';
        i++;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = g.indexOf(']', i + 2);
      if (end < 0) throw new ValidationError([{ field, rule: `has an unclosed "[" at ${i + 1} (got ${JSON.stringify(glob)})` }]);
      let cls = g.slice(i + 1, end).replace(/\\/g, '\\\\');
      if (cls.startsWith('!')) cls = `^${cls.slice(1)}`;
      re += `[${cls}]`;
      i = end;
    } else if (c === '{') {
      braces++;
      re += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      re += ')';
    } else if (c === ',' && braces > 0) re += '|';
    else if (c === '\\' && i + 1 < g.length) re += `\\${g[++i]!}`;
    else re += c.replace(/[.+^$()|\\/]/g, '\\$&');
  }
  if (braces > 0) throw new ValidationError([{ field, rule: `has an unclosed "{" (got ${JSON.stringify(glob)})` }]);
  return new RegExp(anchored ? `^${re}$` : `(?:^|/)${re}$`, 'u');
}

/** Include/exclude rules: a path is taken when it matches no exclude and, if includes exist, one include. */
export class PathFilter {
  private readonly includes: RegExp[];
  private readonly excludes: RegExp[];

  constructor(include: readonly string[] = [], exclude: readonly string[] = []) {
    this.includes = include.map((g) => globToRegExp(g, 'include'));
    this.excludes = exclude.map((g) => globToRegExp(g, 'exclude'));
  }

  /** True when the relative path `rel` is taken. */
  matches(rel: string): boolean {
    if (this.excludes.some((r) => r.test(rel))) return false;
    return this.includes.length === 0 || this.includes.some((r) => r.test(rel));
  }

}
