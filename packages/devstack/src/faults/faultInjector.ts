import { ValidationError } from '@obsq/shared';
import { type FaultSpec, type FaultTamper, faultSpecSchema } from './faultSpec.js';
import { Prng, deriveSeed } from './prng.js';

/** What the server must do with one request, decided before the operation runs. */
export interface FaultDecision {
  /** Total added latency in milliseconds (0 when none). */
  latencyMs: number;
  /** Answer with this error instead of running the operation. */
  error?: { status: number; code: string; message?: string; bare?: boolean };
  /** Destroy the socket after this many body bytes. */
  resetAfterBytes?: number;
  /** Run the operation, but break its data this way (see {@link FaultSpec.tamper}). */
  tamper?: FaultTamper;
}

/** Counters for one operation name. */
export interface OperationStats {
  /** Requests routed to this operation (including those that were then faulted). */
  requests: number;
  /** Injected faults by kind. */
  faults: { error: number; latency: number; reset: number; tamper: number };
}

interface ActiveRule {
  spec: FaultSpec;
  fired: number;
  prng: Prng;
}

function validate(faults: unknown): FaultSpec[] {
  const parsed = faultSpecSchema.array().safeParse(faults);
  if (!parsed.success) {
    throw new ValidationError(
      parsed.error.issues.map((i) => ({ field: `faults.${i.path.join('.')}`, rule: i.message })),
    );
  }
  return parsed.data as FaultSpec[];
}

/**
 * Holds the fault rules and per-operation counters. Each rule gets its own PRNG stream derived
 * from `(seed, rule index, op)`, so outcomes depend only on how many matching requests came
 * before, never on the interleaving with other operations.
 */
export class FaultInjector {
  private rules: ActiveRule[] = [];
  private seed: number;
  private readonly counters = new Map<string, OperationStats>();

  constructor(faults: FaultSpec[] = [], seed = 1) {
    this.seed = seed;
    this.set(faults, seed);
  }

  /** Replaces every rule (and restarts the PRNG streams). Throws `ValidationError` on bad specs. */
  set(faults: unknown, seed: number = this.seed): void {
    const specs = validate(faults);
    this.seed = seed;
    this.rules = specs.map((spec, i) => ({ spec, fired: 0, prng: new Prng(deriveSeed(seed, `${i}:${spec.op}`)) }));
  }

  /** The current rules, as given. */
  list(): { seed: number; faults: FaultSpec[] } {
    return { seed: this.seed, faults: this.rules.map((r) => r.spec) };
  }

  /** Counts the request and decides its fate. */
  decide(op: string): FaultDecision {
    const stats = this.statsFor(op);
    stats.requests++;
    const decision: FaultDecision = { latencyMs: 0 };
    for (const rule of this.rules) {
      const { spec } = rule;
      if (spec.op !== '*' && spec.op !== op) continue;
      if (spec.times !== undefined && rule.fired >= spec.times) continue;
      // Roll even when a previous rule already decided, so each stream advances once per match.
      if (rule.prng.next() >= (spec.rate ?? 1)) continue;
      let applied = false;
      if (spec.latencyMs) {
        decision.latencyMs += spec.latencyMs;
        stats.faults.latency++;
        applied = true;
      }
      if (decision.error === undefined && decision.resetAfterBytes === undefined && decision.tamper === undefined) {
        if (spec.error) {
          decision.error = spec.error;
          stats.faults.error++;
          applied = true;
        } else if (spec.reset) {
          decision.resetAfterBytes = spec.reset.afterBytes ?? 0;
          stats.faults.reset++;
          applied = true;
        } else if (spec.tamper) {
          decision.tamper = spec.tamper;
          stats.faults.tamper++;
          applied = true;
        }
      }
      if (applied) rule.fired++;
    }
    return decision;
  }

  /** A snapshot of the counters, by operation name. */
  stats(): Record<string, OperationStats> {
    const out: Record<string, OperationStats> = {};
    for (const [op, s] of [...this.counters].sort(([a], [b]) => a.localeCompare(b))) {
      out[op] = { requests: s.requests, faults: { ...s.faults } };
    }
    return out;
  }

  /** Zeroes every counter. */
  resetStats(): void {
    this.counters.clear();
  }

  private statsFor(op: string): OperationStats {
    let s = this.counters.get(op);
    if (!s) {
      s = { requests: 0, faults: { error: 0, latency: 0, reset: 0, tamper: 0 } };
      this.counters.set(op, s);
    }
    return s;
  }
}
