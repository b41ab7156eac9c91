import type { z } from 'zod';
import type { ValidationIssue } from '../errors/index.js';
import { formatFieldPath, joinFieldPath, splitFieldPath } from '../validation/index.js';

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function oneOf(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ');
}

/**
 * Turns zod issues into `{ field, rule }` pairs with our wording: `is required`, `must be a string
 * (got 3)`, `must be one of "file", "url" (got "ftp")`, `is not a known field`. Custom issues (our
 * rule functions run inside `superRefine`) keep their message as the rule.
 */
export function zodIssuesToValidationIssues(issues: readonly z.core.$ZodIssue[]): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const issue of issues) {
    const field = formatFieldPath(issue.path);
    const at = field === '' ? 'payload' : field;
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) out.push({ field: joinFieldPath(field, key), rule: 'is not a known field' });
        break;
      case 'invalid_type':
        out.push({
          field: at,
          rule: issue.input === undefined ? 'is required' : `must be ${issue.expected === 'object' || issue.expected === 'array' ? 'an' : 'a'} ${issue.expected} (got ${describe(issue.input)})`,
        });
        break;
      case 'invalid_value':
        out.push({ field: at, rule: `must be one of ${oneOf(issue.values)} (got ${describe(issue.input)})` });
        break;
      case 'invalid_union': {
        const { options, discriminator } = issue as { options?: unknown[]; discriminator?: string };
        if (options !== undefined && discriminator !== undefined) {
          const input = issue.input;
          const got = typeof input === 'object' && input !== null ? (input as Record<string, unknown>)[discriminator] : input;
          out.push({
            field: at,
            rule: got === undefined ? `is required: one of ${oneOf(options)}` : `must be one of ${oneOf(options)} (got ${describe(got)})`,
          });
        } else {
          out.push({ field: at, rule: 'does not match any allowed shape' });
        }
        break;
      }
      default:
        out.push({ field: at, rule: issue.message });
    }
  }
  return out;
}

/** Minimal view of a zod refinement context. */
interface IssueSink {
  addIssue(issue: { code: 'custom'; message: string; path?: PropertyKey[] }): void;
  /** Issues already found at and below this value (paths relative to it). */
  issues?: ReadonlyArray<{ path?: PropertyKey[] }>;
}

/**
 * Reports our rule functions' issues inside a zod `superRefine`/`transform`. `base` is the field name
 * the rule function was given; the rest of each issue's field becomes the zod path below the current
 * value, so the final field path is exactly the one the rule function would print. A field that
 * already has an issue gets no second one from a cross-field rule (`partNumber` out of range is not
 * also "beyond totalParts").
 */
export function addRuleIssues(ctx: IssueSink, issues: readonly ValidationIssue[], base = ''): void {
  const taken = new Set((ctx.issues ?? []).map((i) => formatFieldPath(i.path ?? [])));
  for (const issue of issues) {
    const rest = issue.field.startsWith(base) ? issue.field.slice(base.length) : issue.field;
    const path = splitFieldPath(rest) ?? [];
    if (path.length > 0 && taken.has(formatFieldPath(path))) continue;
    ctx.addIssue({ code: 'custom', message: issue.rule, path });
  }
}
