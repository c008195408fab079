import type { Kysely } from 'kysely';
import type { AttestationRecord, AttestationRepo } from '../../core/channel/ports.ts';
import type { Database } from './schema.ts';

export class KyselyAttestationRepo implements AttestationRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async put(record: AttestationRecord): Promise<void> {
    const row = {
      channel: record.channel,
      subdir: record.subdir,
      filename: record.filename,
      sigs_sha256: record.sigsSha256,
      bundle_sha256: record.bundleSha256,
      verified: JSON.stringify(record.verified),
      verified_at: record.verifiedAt,
    };
    await this.db
      .insertInto('attestations')
      .values(row)
      .onConflict((oc) =>
        oc.columns(['channel', 'subdir', 'filename']).doUpdateSet({
          sigs_sha256: row.sigs_sha256,
          bundle_sha256: row.bundle_sha256,
          verified: row.verified,
          verified_at: row.verified_at,
        }),
      )
      .execute();
  }

  async get(channel: string, subdir: string, filename: string): Promise<AttestationRecord | null> {
    const row = await this.db
      .selectFrom('attestations')
      .selectAll()
      .where('channel', '=', channel)
      .where('subdir', '=', subdir)
      .where('filename', '=', filename)
      .executeTakeFirst();
    if (!row) return null;
    return {
      channel: row.channel,
      subdir: row.subdir,
      filename: row.filename,
      sigsSha256: row.sigs_sha256,
      bundleSha256: row.bundle_sha256,
      verified: JSON.parse(row.verified) as Record<string, unknown>,
      verifiedAt: row.verified_at,
    };
  }

  async remove(channel: string, subdir: string, filename: string): Promise<void> {
    await this.db
      .deleteFrom('attestations')
      .where('channel', '=', channel)
      .where('subdir', '=', subdir)
      .where('filename', '=', filename)
      .execute();
  }
}
