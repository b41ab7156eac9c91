import { z } from 'zod';
import { ObsqError } from '@obsq/shared';

/** One recognised word with its timing (ms, relative to the session). Every field is optional on the wire. */
export interface SisWordInfo {
  start_time?: number;
  end_time?: number;
  word?: string;
}

/** A recognition hypothesis of one sentence. */
export interface SisSegmentResult {
  text: string;
  /** Confidence 0..1. Reliable on finals only; interims may carry `0.0`. */
  score?: number;
  /** Present only when START asked for `need_word_info: "yes"`. */
  word_info?: SisWordInfo[];
}

/** One sentence of a RESULT. Times are integer ms relative to the session's audio start. */
export interface SisSegment {
  start_time: number;
  end_time: number;
  /** `false` for an interim hypothesis (only with `interim_results: "yes"`); replace it by `start_time`. */
  is_final: boolean;
  /** Absent when recognition of this segment failed. */
  result?: SisSegmentResult;
}

/** Names of RASR events; servers may send others, which clients must tolerate. */
export const SIS_EVENTS = ['VOICE_START', 'VOICE_END', 'EXCEEDED_SILENCE', 'EXCEEDED_AUDIO'] as const;
/** A known RASR event name. */
export type SisEventName = (typeof SIS_EVENTS)[number];

/** Reasons in an END response. */
export const SIS_END_REASONS = ['NORMAL', 'CANCEL', 'ERROR'] as const;
/** A known END reason. */
export type SisEndReason = (typeof SIS_END_REASONS)[number];

/** `{"resp_type":"START"}`: the session began. */
export interface SisStartResponse {
  resp_type: 'START';
  trace_id: string;
}

/** `{"resp_type":"RESULT"}`: one or more sentences, interim or final. */
export interface SisResultResponse {
  resp_type: 'RESULT';
  trace_id: string;
  segments: SisSegment[];
}

/** `{"resp_type":"EVENT"}`: VAD or limit events. */
export interface SisEventResponse {
  resp_type: 'EVENT';
  trace_id: string;
  event: SisEventName | (string & {});
  /** Reserved by SIS: ms since the session start. */
  timestamp?: number;
}

/** `{"resp_type":"END"}`: the session ended; the connection stays open for another START. */
export interface SisEndResponse {
  resp_type: 'END';
  trace_id: string;
  reason: SisEndReason | (string & {});
}

/** `{"resp_type":"ERROR"}`: the session failed; an END follows when one was active. */
export interface SisErrorResponse {
  resp_type: 'ERROR';
  /** SIS omits it in some error cases. */
  trace_id?: string;
  error_code: string;
  error_msg: string;
}

/** `{"resp_type":"FATAL_ERROR"}`: the server closes the connection right after. */
export interface SisFatalErrorResponse {
  resp_type: 'FATAL_ERROR';
  trace_id?: string;
  error_code: string;
  error_msg: string;
}

/** Every message a RASR server sends, discriminated by `resp_type`. */
export type SisServerMessage =
  | SisStartResponse
  | SisResultResponse
  | SisEventResponse
  | SisEndResponse
  | SisErrorResponse
  | SisFatalErrorResponse;

const msInt = z.number().int().nonnegative();

const wordInfoSchema = z.object({
  start_time: msInt.optional(),
  end_time: msInt.optional(),
  word: z.string().optional(),
});

const segmentSchema = z.object({
  start_time: msInt,
  end_time: msInt,
  is_final: z.boolean(),
  result: z
    .object({
      text: z.string(),
      score: z.number().optional(),
      word_info: z.array(wordInfoSchema).optional(),
    })
    .optional(),
});

const errorFields = {
  trace_id: z.string().optional(),
  error_code: z.string(),
  error_msg: z.string(),
};

/** Zod schema of {@link SisServerMessage}; unknown keys are dropped. */
export const sisServerMessageSchema = z.discriminatedUnion('resp_type', [
  z.object({ resp_type: z.literal('START'), trace_id: z.string() }),
  z.object({ resp_type: z.literal('RESULT'), trace_id: z.string(), segments: z.array(segmentSchema) }),
  z.object({ resp_type: z.literal('EVENT'), trace_id: z.string(), event: z.string(), timestamp: z.number().optional() }),
  z.object({ resp_type: z.literal('END'), trace_id: z.string(), reason: z.string() }),
  z.object({ resp_type: z.literal('ERROR'), ...errorFields }),
  z.object({ resp_type: z.literal('FATAL_ERROR'), ...errorFields }),
]) satisfies z.ZodType<SisServerMessage>;

/**
 * Parses and validates one text frame from a RASR server.
 * @throws ObsqError `OBSQ_SIS` (permanent: a server speaking another protocol will not improve)
 *   when the text is not JSON or does not match any message shape.
 */
export function parseServerMessage(text: string): SisServerMessage {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ObsqError('OBSQ_SIS', 'SIS sent a text frame that is not JSON', {
      cause: err,
      permanent: true,
      details: { length: text.length },
    });
  }
  const parsed = sisServerMessageSchema.safeParse(json);
  if (!parsed.success) {
    const respType = typeof json === 'object' && json !== null ? (json as { resp_type?: unknown }).resp_type : undefined;
    throw new ObsqError(
      'OBSQ_SIS',
      `SIS sent an invalid message: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
      { cause: parsed.error, permanent: true, details: { resp_type: typeof respType === 'string' ? respType : undefined } },
    );
  }
  return parsed.data;
}
