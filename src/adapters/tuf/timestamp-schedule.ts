import type { TufService } from '../../core/tuf/tuf-service.ts';

/**
 * Re-signs each channel's timestamp (and whatever else is past half its validity) on a timer, even
 * when nothing is uploaded: a mirror that stops following the origin serves an expired timestamp
 * within one validity period, and clients refuse it. Checks four times per validity, at most every
 * five minutes. Every replica may run it; the compare-and-set makes one of them sign.
 */
export function scheduleTimestampRefresh(tuf: TufService, timestampSeconds: number, onError: (err: unknown) => void): () => void {
  const everyMs = Math.max(500, Math.min(300_000, (timestampSeconds * 1000) / 4));
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      await tuf.refreshAll();
    } catch (err) {
      onError(err);
    } finally {
      running = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
