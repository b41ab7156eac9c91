import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { WebSocket, type RawData } from 'ws';
import {
  audioBytesToMs,
  parseClientCommand,
  SIS_AUDIO_FORMAT_INFO,
  toPcm16,
  type Recognizer,
  type SisAudioFormatInfo,
  type SisServerMessage,
  type SisStartConfig,
  type SpeechSegment,
} from '@obsq/speech';
import { coerceError } from '@obsq/shared';
import type { SisMode } from './handshake.js';
import { interimSegmentsFor } from './interimResults.js';
import type { ResolvedSisServerOptions, SisServerFaults } from './sisServerOptions.js';

/** short-stream takes one minute of audio; the others up to the 5 h connection cap. */
const MAX_AUDIO_MS: Record<SisMode, number> = {
  'short-stream': 60_000,
  'sentence-stream': 5 * 3600_000,
  'continue-stream': 5 * 3600_000,
};
/** RMS of a 10 ms window above which audio counts as voiced, for EXCEEDED_SILENCE (≈ −32 dBFS). */
const VOICED_RMS = 800;

interface Session {
  traceId: string;
  config: SisStartConfig;
  format: SisAudioFormatInfo;
  recognizer: Recognizer;
  /** active: taking audio; ending: END received, flushing; done: END/ERROR sent. */
  state: 'active' | 'ending' | 'done';
  /** False once VOICE_END / EXCEEDED_* was sent: later audio and sentences are ignored. */
  listening: boolean;
  audioMs: number;
  voiced: boolean;
  inVoice: boolean;
}

/** What a connection needs from its server. */
export interface SisConnectionContext {
  mode: SisMode;
  options: ResolvedSisServerOptions;
  logger: Logger;
  engineReady: Promise<boolean>;
  faults: () => SisServerFaults;
  /** Takes one of the server-wide `dropConnections`; false when none is left. */
  claimDrop: () => boolean;
  /** A started engine for a new session, routed to `onSegment` (waits while every warm engine is busy). */
  takeRecognizer: (sampleRate: 8000 | 16000, onSegment: (seg: SpeechSegment) => void) => Promise<Recognizer>;
}

/**
 * One RASR WebSocket connection: a state machine over START / audio / END (spec §5, §9).
 * A session runs one PocketSphinx process fed as audio arrives; PocketSphinx's VAD finalises each
 * utterance about 0.5 s after speech stops, so a long stream yields RESULTs before END, and END
 * only waits for the last sentence. Segment times are ms from the session's first audio byte.
 */
export class SisConnection {
  /** Resolves when the socket is closed and the engine process (if any) has exited. */
  readonly closed: Promise<void>;
  private readonly connTraceId = randomUUID();
  private session: Session | undefined;
  private everStarted = false;
  private audioBytes = 0;
  private silent = false;
  private idlePaused = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly maxTimer: NodeJS.Timeout;
  private readonly engineExits: Promise<unknown>[] = [];

  constructor(
    private readonly ws: WebSocket,
    private readonly ctx: SisConnectionContext,
  ) {
    this.touch();
    this.maxTimer = setTimeout(() => {
      this.ctx.logger.info({ mode: ctx.mode }, 'sis connection reached maxConnectionMs; closing');
      this.ws.close(1000, 'connection time limit');
    }, ctx.options.maxConnectionMs);
    ws.on('message', (data, isBinary) => {
      try {
        this.onFrame(data, isBinary);
      } catch (err) {
        this.ctx.logger.error({ err: coerceError(err) }, 'sis frame handler failed');
      }
    });
    ws.on('error', (err) => this.ctx.logger.warn({ err }, 'sis socket error'));
    this.closed = new Promise<void>((resolve) => {
      ws.once('close', () => {
        clearTimeout(this.idleTimer);
        clearTimeout(this.maxTimer);
        this.abortSession();
        void Promise.allSettled(this.engineExits).then(() => resolve());
      });
    });
  }

  private send(msg: SisServerMessage): void {
    if (!this.silent && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  /** Any client frame restarts the idle timer (spec §9.9); pings are not frames here. */
  private touch(): void {
    clearTimeout(this.idleTimer);
    if (this.silent || this.idlePaused) return;
    this.idleTimer = setTimeout(() => this.onIdle(), this.ctx.options.idleTimeoutMs);
  }

  private onIdle(): void {
    this.send({ resp_type: 'FATAL_ERROR', trace_id: this.session?.traceId ?? this.connTraceId, error_code: 'SIS.0304', error_msg: 'wait voice timeout' });
    this.abortSession();
    this.ws.close(1000, 'wait voice timeout');
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    if (this.silent) return;
    this.touch();
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (isBinary) this.onAudio(buf);
    else this.onText(buf.toString('utf8'));
  }

  private onText(text: string): void {
    const parsed = parseClientCommand(text);
    if (!parsed.ok) {
      if (this.session) this.failSession(parsed.code, parsed.message);
      else this.send({ resp_type: 'ERROR', trace_id: this.connTraceId, error_code: parsed.code, error_msg: parsed.message });
      return;
    }
    const cmd = parsed.value;
    if (cmd.command === 'START') {
      if (this.session) this.failSession('SIS.0032', 'START received while a session is active');
      else void this.startSession(cmd.config);
    } else if (!this.session) {
      this.send({ resp_type: 'ERROR', trace_id: this.connTraceId, error_code: 'SIS.0032', error_msg: 'END received without an active session' });
    } else if (this.session.state === 'active') {
      void this.endSession(this.session, cmd.cancel);
    }
  }

  private async startSession(config: SisStartConfig): Promise<void> {
    if (this.ctx.faults().silent) {
      this.silent = true;
      clearTimeout(this.idleTimer);
      this.ctx.logger.info({ mode: this.ctx.mode }, 'sis fault: silent after START');
      return;
    }
    this.everStarted = true;
    const format = SIS_AUDIO_FORMAT_INFO[config.audio_format];
    const traceId = randomUUID();
    // Claim the slot before awaiting so a second START in the same tick is refused.
    const placeholder = { traceId, state: 'active' } as Session;
    this.session = placeholder;
    if (!(await this.ctx.engineReady)) {
      this.session = undefined;
      this.send({ resp_type: 'ERROR', trace_id: traceId, error_code: 'SIS.0303', error_msg: 'engine connection failed: PocketSphinx is not installed' });
      return;
    }
    if (this.session !== placeholder || this.ws.readyState !== WebSocket.OPEN) return;
    // Segments are routed once the session exists (none arrive before audio is written).
    const route: { session?: Session } = {};
    let recognizer: Recognizer;
    // The server owes the client the START answer while it waits for a free warm engine (or one
    // loading its model): no idle timeout meanwhile, as while finishing after END.
    this.idlePaused = true;
    clearTimeout(this.idleTimer);
    try {
      recognizer = await this.ctx.takeRecognizer(format.sampleRate, (seg) => route.session && this.onSegment(route.session, seg));
    } catch (err) {
      this.idlePaused = false;
      this.touch();
      this.ctx.logger.warn({ err: coerceError(err), traceId }, 'sis engine unavailable');
      if (this.session === placeholder) {
        this.session = undefined;
        this.send({ resp_type: 'ERROR', trace_id: traceId, error_code: 'SIS.0303', error_msg: 'engine connection failed' });
      }
      return;
    }
    this.idlePaused = false;
    this.touch();
    if (this.session !== placeholder || this.ws.readyState !== WebSocket.OPEN) {
      // Gone while waiting for an engine: an empty job hands a warm engine straight back.
      recognizer.end().catch(() => {});
      return;
    }
    route.session = Object.assign(placeholder, {
      config,
      format,
      listening: true,
      audioMs: 0,
      voiced: false,
      inVoice: false,
      recognizer,
    });
    this.ctx.logger.debug({ mode: this.ctx.mode, traceId, audioFormat: config.audio_format }, 'sis session started');
    this.send({ resp_type: 'START', trace_id: traceId });
  }

  private onAudio(buf: Buffer): void {
    this.audioBytes += buf.length;
    const drop = this.ctx.faults().dropAfterAudioBytes;
    if (drop !== undefined && this.audioBytes >= drop && this.ctx.claimDrop()) {
      this.ctx.logger.info({ audioBytes: this.audioBytes }, 'sis fault: dropping socket');
      this.abortSession();
      this.ws.terminate();
      return;
    }
    const s = this.session;
    if (!s) {
      // After an END or ERROR audio is ignored until the next START (D-err); before any START it is an error.
      if (!this.everStarted) {
        this.send({ resp_type: 'ERROR', trace_id: this.connTraceId, error_code: 'SIS.0032', error_msg: 'audio data received before START' });
      }
      return;
    }
    if (s.state !== 'active' || !s.listening || !s.recognizer) return;
    const { minBytes, maxBytes } = s.format.frame;
    if (buf.length < minBytes || buf.length > maxBytes) {
      this.failSession('SIS.0032', `audio frame of ${buf.length} bytes is outside [${minBytes}, ${maxBytes}] for ${s.format.sampleRate / 1000}k audio`);
      return;
    }
    const ms = audioBytesToMs(s.config.audio_format, buf.length);
    if (s.audioMs + ms > MAX_AUDIO_MS[this.ctx.mode]) {
      this.stopListening(s, 'EXCEEDED_AUDIO');
      return;
    }
    const { pcm } = toPcm16(buf, s.config.audio_format);
    s.audioMs += ms;
    s.voiced ||= hasVoice(pcm, s.format.sampleRate);
    if (this.ctx.mode === 'sentence-stream' && !s.voiced) {
      const vadHead = s.config.vad_head === 0 ? 60_000 : (s.config.vad_head ?? 10_000);
      if (s.audioMs >= vadHead) {
        this.stopListening(s, 'EXCEEDED_SILENCE');
        return;
      }
    }
    s.recognizer.write(pcm);
  }

  private stopListening(s: Session, event: 'VOICE_END' | 'EXCEEDED_SILENCE' | 'EXCEEDED_AUDIO', timestamp = Math.round(s.audioMs)): void {
    s.listening = false;
    this.send({ resp_type: 'EVENT', trace_id: s.traceId, event, timestamp });
    // Close the engine's input so END finds it finished; its outcome is collected by endSession.
    s.recognizer.end().catch(() => {});
  }

  private onSegment(s: Session, seg: SpeechSegment): void {
    if (s.state === 'done' || !s.listening || this.session !== s) return;
    const vad = this.ctx.mode === 'sentence-stream' || (this.ctx.mode === 'continue-stream' && this.ctx.options.vadEvents);
    const withWords = s.config.need_word_info === 'yes';
    if (vad && !s.inVoice) {
      s.inVoice = true;
      this.send({ resp_type: 'EVENT', trace_id: s.traceId, event: 'VOICE_START', timestamp: seg.start_time });
    }
    if (s.config.interim_results === 'yes') {
      for (const interim of interimSegmentsFor(seg, withWords)) this.send({ resp_type: 'RESULT', trace_id: s.traceId, segments: [interim] });
    }
    const { word_info, ...result } = seg.result;
    this.send({ resp_type: 'RESULT', trace_id: s.traceId, segments: [{ ...seg, result: withWords && word_info ? { ...result, word_info } : result }] });
    if (this.ctx.mode === 'sentence-stream') {
      this.stopListening(s, 'VOICE_END', seg.end_time);
    } else if (vad) {
      s.inVoice = false;
      this.send({ resp_type: 'EVENT', trace_id: s.traceId, event: 'VOICE_END', timestamp: seg.end_time });
    }
  }

  private async endSession(s: Session, cancel: boolean): Promise<void> {
    if (cancel) {
      this.finish(s);
      this.send({ resp_type: 'END', trace_id: s.traceId, reason: 'CANCEL' });
      return;
    }
    s.state = 'ending';
    // The server owes the client an answer while the engine finishes: no idle timeout meanwhile.
    this.idlePaused = true;
    clearTimeout(this.idleTimer);
    try {
      await s.recognizer.end();
    } catch (err) {
      if (this.session === s) {
        this.ctx.logger.warn({ err: coerceError(err), traceId: s.traceId }, 'sis engine failed');
        this.idlePaused = false;
        this.failSession('SIS.0305', 'engine error');
        this.touch();
      }
      return;
    }
    if (this.session !== s) return;
    this.finish(s);
    this.send({ resp_type: 'END', trace_id: s.traceId, reason: 'NORMAL' });
    this.idlePaused = false;
    this.touch();
  }

  /** ERROR, then END reason ERROR: the session is over, the connection stays (spec §5.5). */
  private failSession(code: string, message: string): void {
    const s = this.session;
    if (!s) return;
    this.finish(s);
    this.send({ resp_type: 'ERROR', trace_id: s.traceId, error_code: code, error_msg: message });
    this.send({ resp_type: 'END', trace_id: s.traceId, reason: 'ERROR' });
  }

  private finish(s: Session): void {
    s.state = 'done';
    if (this.session === s) this.session = undefined;
    if (s.recognizer) {
      s.recognizer.abort();
      this.engineExits.push(s.recognizer.exited);
    }
  }

  private abortSession(): void {
    if (this.session) this.finish(this.session);
  }
}

/** True when any 10 ms window of 16-bit PCM has an RMS above {@link VOICED_RMS}. */
function hasVoice(pcm: Buffer, sampleRate: number): boolean {
  const win = sampleRate / 100;
  const samples = pcm.length >> 1;
  for (let start = 0; start < samples; start += win) {
    const end = Math.min(samples, start + win);
    let sum = 0;
    for (let i = start; i < end; i++) {
      const v = pcm.readInt16LE(i * 2);
      sum += v * v;
    }
    if (Math.sqrt(sum / (end - start)) > VOICED_RMS) return true;
  }
  return false;
}
