import { ObsqError } from '@obsq/shared';
import { propertySampleRate, SIS_AUDIO_FORMAT_INFO, type SisAudioFormat } from '../sis/index.js';

/** SIS's message for a `property` whose sample rate differs from `audio_format` (seed §8). */
export const FORMAT_MISMATCH_MESSAGE = "'audio_format' is not match model";

/** SIS's error code for that mismatch (spec §6.1). */
export const FORMAT_MISMATCH_CODE = 'SIS.0301';

/**
 * Refuses, before any connection is made, what SIS would refuse with ERROR SIS.0301: a
 * `property` whose sample rate is not the rate of `format`. A property without a rate in its
 * name passes (the service's property table is larger than documented). The error is a
 * permanent `OBSQ_SIS` error carrying the SIS code and message under `details.error_code` /
 * `details.error_msg`, like an ERROR from the server.
 */
export function assertFormatMatchesProperty(format: SisAudioFormat, property: string): void {
  const rate = propertySampleRate(property);
  const expected = SIS_AUDIO_FORMAT_INFO[format].sampleRate;
  if (rate === undefined || rate === expected) return;
  throw new ObsqError(
    'OBSQ_SIS',
    `${FORMAT_MISMATCH_CODE} ${FORMAT_MISMATCH_MESSAGE}: audio_format ${format} is ${expected / 1000} kHz, property ${property} is ${rate / 1000} kHz`,
    {
      permanent: true,
      details: { error_code: FORMAT_MISMATCH_CODE, error_msg: FORMAT_MISMATCH_MESSAGE, audio_format: format, property },
    },
  );
}
