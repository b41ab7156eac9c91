import type { SignatureMode } from './types.js';

/** Header prefix for a signature mode: `x-obs-` for OBS native, `x-amz-` for V2 and V4. */
export function headerPrefix(mode: SignatureMode): 'x-obs-' | 'x-amz-' {
  return mode === 'obs' ? 'x-obs-' : 'x-amz-';
}
