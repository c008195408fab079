import type { Generated } from 'kysely';
import type { LogTables } from './log-schema.ts';
import type { ProvenanceTables } from './provenance-schema.ts';
import type { TrustedPublishingTables } from './trusted-publishing-schema.ts';
import type { RepodataStateTables } from './repodata-state-schema.ts';
import type { TufTables } from './tuf-schema.ts';

/**
 * Table shapes shared by SQLite and PostgreSQL. Booleans are 0/1 integers and times ISO-8601 text so
 * one set of queries reads the same on both; sizes are bigint (PostgreSQL returns them as strings).
 */
export interface Database extends LogTables, ProvenanceTables, TrustedPublishingTables, TufTables, RepodataStateTables {
  channels: {
    name: string;
    private: number;
    require_attestations: number;
    created_at: string;
    /** 0005_channel_limits; null: the server's limit */
    max_package_size?: number | string | bigint | null;
  };
  api_keys: {
    id: string;
    channel: string;
    scope: string;
    description: string | null;
    secret_hash: string;
    created_at: string;
    expires_at: string | null;
    revoked_at: string | null;
  };
  packages: {
    channel: string;
    subdir: string;
    filename: string;
    name: string;
    sha256: string;
    md5: string;
    size: number | string | bigint;
    record: string;
    /** the record as repodata.json writes it (0009_record_fragments); null on rows written before */
    fragment: string | null;
    about: string | null;
    uploaded_at: string;
    uploaded_by: string;
    attestations_sha256: string | null;
  };
  removed_files: {
    channel: string;
    subdir: string;
    filename: string;
    removed_at: string;
    /** the package name (0006_repodata_state): a shard lists its name's removed files */
    name: string | null;
  };
  schema_info: {
    id: Generated<number>;
    note: string;
  };
}
