/**
 * Repodata bookkeeping (migration 0006_repodata_state): per subdir a generation counter that every
 * change bumps in its own transaction, the generations the shard index and the full files were last
 * built at, the leases that let one builder at a time write them, and the facts of the files in place;
 * per package name the sha256 of its current shard and the generation it last changed at.
 */
export interface RepodataStateTables {
  repodata_state: {
    channel: string;
    subdir: string;
    /** bumped by every change to the subdir's records (upload, removal), in that change's transaction */
    generation: number;
    /** live records, kept by the same changes: decides whether the full files are rebuilt before the acknowledgement */
    records: number;
    index_built: number;
    full_built: number;
    index_owner: string | null;
    index_until: number | string | bigint | null;
    full_owner: string | null;
    full_until: number | string | bigint | null;
    /** JSON: the shard index in place, `{sha256, size}` */
    index_file: string | null;
    /** JSON: the full files in place, `{path: {sha256, size}}` */
    full_files: string | null;
  };
  repodata_shards: {
    channel: string;
    subdir: string;
    name: string;
    /** the generation of the last change to this name's records */
    changed: number;
    /** the generation the shard below was built at (null: never built) */
    built: number | null;
    /** hex sha256 of the shard's bytes, its address */
    sha256: string | null;
    /** JSON: what current_repodata.json takes from this name alone, as of `built` (0009_record_fragments) */
    current: string | null;
    /** the generation this name's repodata_segments were written at (null: never, 0011_repodata_segments) */
    segments_built: number | null;
  };
  /** each name's part of each repodata.json section, as the document's bytes (core/repodata/segments.ts) */
  repodata_segments: {
    channel: string;
    subdir: string;
    format: string;
    name: string;
    first: string;
    last: string;
    records: number;
    bytes: Buffer;
  };
}
