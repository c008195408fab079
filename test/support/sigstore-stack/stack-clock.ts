/**
 * The stack's notion of "now". @sigstore/mock reads the Date it was given at initialize* time on every
 * request (it keeps the reference), so moving these Date objects moves the services' time without
 * re-creating their keys. Each service has its own Date so a test can stamp a certificate at one time and
 * the log entry/timestamp at another; `set` keeps them together.
 */
export type StackService = 'fulcio' | 'rekor' | 'tsa';

export class StackClock {
  /** Handed to initializeCA and initializeCTLog (certificate validity and SCT time). */
  readonly fulcio = new Date(0);
  /** Handed to initializeTLog (integratedTime, SET, checkpoint). */
  readonly rekor = new Date(0);
  /** Handed to initializeTSA (genTime of RFC 3161 timestamps). */
  readonly tsa = new Date(0);

  /** Moves every service to `at` (milliseconds adjusted, see `stampable`). */
  set(at: Date): void {
    for (const service of ['fulcio', 'rekor', 'tsa'] as const) this.setService(service, at);
  }

  setService(service: StackService, at: Date): void {
    this[service].setTime(stampable(at).getTime());
  }

  /** The time Fulcio stamps; the other services agree unless a test skewed them. */
  now(): Date {
    return new Date(this.fulcio.getTime());
  }

  snapshot(): Record<StackService, Date> {
    return { fulcio: new Date(this.fulcio), rekor: new Date(this.rekor), tsa: new Date(this.tsa) };
  }

  restore(times: Record<StackService, Date>): void {
    for (const [service, at] of Object.entries(times)) this[service as StackService].setTime(at.getTime());
  }
}

/**
 * The mock TSA writes genTime with asn1js, which drops trailing zeros of the milliseconds (".120" → ".12"),
 * and @sigstore/core accepts only three digits: any time whose milliseconds end in 0 would make the bundle
 * unverifiable. Keep the second, replace the last millisecond digit by 7.
 */
export function stampable(at: Date): Date {
  const ms = at.getTime();
  const lastDigit = ((ms % 10) + 10) % 10;
  return lastDigit === 0 ? new Date(ms + 7) : at;
}
