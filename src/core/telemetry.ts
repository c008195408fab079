/**
 * What the core tells the outside world about its work, for metrics. The core never knows how these
 * are counted or exported (the HTTP adapter implements them with Prometheus, adapters/http/metrics.ts);
 * `noTelemetry` is the default, so tests and tools that do not care wire nothing.
 */
export interface Telemetry {
  /** an upload was committed */
  uploadAccepted(): void;
  /** an upload was refused; `code` is the refusal's error code (e.g. `package_too_large`) */
  uploadRefused(code: string): void;
  /** an attestation was checked: `verified`, or the refusal's error code; `seconds` spent verifying */
  attestationChecked(outcome: string, seconds: number): void;
  /** one subdir's repodata files were generated and published */
  repodataGenerated(seconds: number): void;
  /** seconds until a channel's TUF root expires; `keys`: whether the server renews it (`server`) or its owner must (`offline`) */
  tufRootExpiry?(channel: string, seconds: number, keys: 'server' | 'offline'): void;
}

export const noTelemetry: Telemetry = {
  uploadAccepted: () => undefined,
  uploadRefused: () => undefined,
  attestationChecked: () => undefined,
  repodataGenerated: () => undefined,
};

/** Seconds since `start` (from `process.hrtime.bigint()`), for the durations above. */
export function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}
