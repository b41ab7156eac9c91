import type { z } from 'zod';
import { ConfigError } from '../errors/index.js';

/** A process environment: `process.env` or a test's plain object. */
export type Env = Readonly<Record<string, string | undefined>>;

/** One bad variable. */
export interface ConfigIssue {
  /** The environment variable's name, e.g. `OBSQ_CONCURRENCY_UPLOAD_PART`. */
  variable: string;
  /** What is wrong, e.g. `must be a positive integer (got "abc")`. */
  rule: string;
}

/** Options of {@link parseEnv}. */
export interface ParseEnvOptions {
  /** Service name for the error message, e.g. `obsq-worker`. */
  service: string;
}

/**
 * Parses the environment with a config schema (keys are variable names). Call it once, from `main()`.
 *
 * @throws ConfigError whose message lists every bad variable by name with its rule, one per line;
 *   `details.issues` holds the same as {@link ConfigIssue}s. Values of secret variables never appear.
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: Env, { service }: ParseEnvOptions): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const issues: ConfigIssue[] = result.error.issues.map((issue) => ({
    variable: issue.path.length > 0 ? issue.path.map(String).join('.') : '(environment)',
    rule: issue.code === 'invalid_type' && issue.path.length === 0 ? 'must be an object of variables' : issue.message,
  }));
  const lines = issues.map((i) => `  ${i.variable}: ${i.rule}`);
  // zod leaves inputs out of its issues unless asked (`reportInput`), so the chained cause carries no
  // variable values, secrets included.
  throw new ConfigError(`invalid configuration for ${service} (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`, {
    cause: result.error,
    details: { service, issues },
  });
}

/**
 * Reports {@link ConfigIssue}s from a cross-variable rule into a zod refinement, each on its variable,
 * skipping variables that already have an issue (a malformed value is not also "required").
 */
export function addConfigIssues(ctx: z.RefinementCtx, issues: readonly ConfigIssue[]): void {
  const reported = new Set(ctx.issues.map((i) => String(i.path?.[0] ?? '')));
  for (const i of issues) {
    if (reported.has(i.variable)) continue;
    ctx.addIssue({ code: 'custom', message: i.rule, path: [i.variable] });
  }
}

/**
 * `superRefine` params that run cross-variable rules even when single variables failed, so one
 * ConfigError lists every problem. Failed variables hold a non-undefined placeholder, so rules
 * treat them as set and {@link addConfigIssues} drops duplicates.
 */
export const ALSO_AFTER_FIELD_ERRORS = {
  when: (payload: { value: unknown }): boolean => typeof payload.value === 'object' && payload.value !== null,
};
