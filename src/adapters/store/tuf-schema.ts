/** Tables of migration 0007_tuf (signed repodata metadata). */
export interface TufTables {
  tuf_state: {
    channel: string;
    serial: number;
    root_version: number;
    targets_version: number;
    snapshot_version: number;
    timestamp_version: number;
  };
  tuf_metadata: {
    channel: string;
    role: string;
    version: number;
    body: string;
  };
}
