/**
 * Progress of a transfer on stderr, for people: on a terminal, one line redrawn in place (a bar,
 * bytes done of the total, the rate and the time left); anywhere else (a pipe, a log file, CI),
 * nothing while it runs and one plain line at the end, so logs stay readable and stdout stays
 * free for data and hashes.
 *
 * @module
 */

import { formatSize } from "../src/collection/listing_html.ts";

/** Redraws at most this often: a terminal repainted per 64 KiB piece would cost more than I/O. */
const REDRAW_MS = 100;
/** Weight of the newest rate sample: smooths bursts without hiding a real slowdown for long. */
const RATE_SMOOTHING = 0.3;
const BAR_WIDTH = 24;

/** Where progress lines go: a terminal is redrawn, anything else gets the last line only. */
export interface ProgressSink {
  readonly isTerminal: boolean;
  write(text: string): void;
}

/** stderr, with whether it is a terminal. */
export function stderrSink(): ProgressSink {
  const encoder = new TextEncoder();
  return {
    isTerminal: Deno.stderr.isTerminal(),
    write: (text) => Deno.stderr.writeSync(encoder.encode(text)),
  };
}

/** A sink that shows nothing (`--quiet`). */
export const SILENT: ProgressSink = { isTerminal: false, write: () => {} };

/** `83` seconds → `1:23`; `3725` → `1:02:05`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const two = (n: number) => String(n).padStart(2, "0");
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

/** A rate in bytes per second, rounded: `1.5 MiB/s`. */
function perSecond(bytes: number): string {
  return `${formatSize(Math.round(bytes))}/s`;
}

/** One transfer's progress line. */
export class ProgressLine {
  readonly #sink: ProgressSink;
  readonly #started = performance.now();
  #done = 0;
  #lastDraw = -Infinity;
  #sample = { at: this.#started, done: 0 };
  #rate = 0;
  #width = 0;

  /**
   * `label` starts every line (`put photos`); `total` is the bytes expected, when known, and
   * may be raised later (a collection's size is known file by file).
   */
  constructor(readonly label: string, public total: number | undefined, sink: ProgressSink) {
    this.#sink = sink;
  }

  /** Bytes done so far (absolute, not a delta). */
  update(done: number): void {
    this.#done = done;
    if (!this.#sink.isTerminal) return;
    const now = performance.now();
    if (now - this.#lastDraw < REDRAW_MS) return;
    const seconds = (now - this.#sample.at) / 1000;
    if (seconds > 0) {
      const sample = (done - this.#sample.done) / seconds;
      this.#rate = this.#rate === 0 ? sample : RATE_SMOOTHING * sample + (1 - RATE_SMOOTHING) *
          this.#rate;
    }
    this.#sample = { at: now, done };
    this.#lastDraw = now;
    this.#draw(this.#liveText());
  }

  /** Adds `n` bytes to what is done. */
  add(n: number): void {
    this.update(this.#done + n);
  }

  get done(): number {
    return this.#done;
  }

  /** Replaces the bar with the final line: `label: what (size in time, rate)`. */
  finish(what: string): void {
    const seconds = (performance.now() - this.#started) / 1000;
    const rate = seconds > 0 ? ` at ${perSecond(this.#done / seconds)}` : "";
    const line = `${this.label}: ${what} (${formatSize(this.#done)} in ${
      seconds.toFixed(1)
    } s${rate})`;
    this.#sink.write(this.#sink.isTerminal ? `\r${line.padEnd(this.#width)}\n` : `${line}\n`);
    this.#width = 0;
  }

  /** Ends a terminal's live line without a summary (before an error message). */
  abandon(): void {
    if (this.#width > 0) this.#sink.write("\n");
    this.#width = 0;
  }

  #liveText(): string {
    const total = this.total;
    const rate = this.#rate > 0 ? `  ${perSecond(this.#rate)}` : "";
    if (total === undefined || total === 0) {
      return `${this.label}  ${formatSize(this.#done)}${rate}`;
    }
    const fraction = Math.min(1, this.#done / total);
    const filled = Math.round(fraction * BAR_WIDTH);
    const bar = "#".repeat(filled) + "-".repeat(BAR_WIDTH - filled);
    const eta = this.#rate > 0 ? `  ETA ${formatDuration((total - this.#done) / this.#rate)}` : "";
    return `${this.label} [${bar}] ${Math.floor(fraction * 100)}%  ` +
      `${formatSize(this.#done)} / ${formatSize(total)}${rate}${eta}`;
  }

  /** Redraws the live line, padding over what a longer previous one left on screen. */
  #draw(text: string): void {
    this.#sink.write(`\r${text.padEnd(this.#width)}`);
    this.#width = text.length;
  }
}
