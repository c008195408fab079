import { hashSecret } from '../channel/access.ts';
import type { Clock, MetadataStore } from '../channel/ports.ts';
import { invalid, isProvenaError, ProvenaError } from '../errors.ts';
import type { Publisher } from '../tlog/entry.ts';
import { githubJob, gitlabJob, text } from './ci-claims.ts';
import { verifyIdToken, type IdTokenClaims, type VerifiedIdToken } from './id-token.ts';
import type { IssuerKeys } from './issuer-keys.ts';
import { gitlabInstance, type TrustedIssuer } from './oidc-issuers.ts';
import { matchPublishers, type CiJob } from './publisher-match.ts';
import type { TrustedPublisher } from './publisher.ts';
import { newUploadTokenId, newUploadTokenSecret, type UploadToken } from './upload-tokens.ts';

/** One exchange, as the server log records it: never the id token itself, never the minted secret. */
export interface MintEvent {
  outcome: 'minted' | 'refused';
  /** the refusal's error code */
  code: string | null;
  detail: string | null;
  issuer: string | null;
  /** whether `claims` come from a verified token (false: read from an unverified one, for diagnosis only) */
  verified: boolean;
  claims: Record<string, string>;
  token_id: string | null;
  channels: string[];
  publishers: string[];
  expires_at: string | null;
  remote_address: string | null;
}

export type MintAudit = (event: MintEvent) => void;

export interface TrustedPublishingOptions {
  issuers: readonly TrustedIssuer[];
  keys: IssuerKeys;
  /** the server's audience: its public host name unless configured (read per request) */
  audience: () => string;
  /** lifetime of minted upload tokens (15 minutes unless configured) */
  uploadTokenTtlSeconds: number;
  /** clock skew allowed on the id token's exp / nbf / iat */
  leewaySeconds?: number;
  audit: MintAudit;
}

export interface MintedUploadToken {
  /** the bearer secret, shown once; stored only as its hash */
  secret: string;
  token: UploadToken;
  publishers: TrustedPublisher[];
}

/** Claims worth seeing in the log when diagnosing an exchange (all short, none secret). */
const LOGGED_CLAIMS = [
  'iss', 'aud', 'sub', 'jti', 'repository', 'repository_owner', 'repository_owner_id', 'job_workflow_ref', 'ref', 'sha',
  'event_name', 'environment', 'run_id', 'run_attempt', 'project_path', 'ci_config_ref_uri', 'ref_path', 'pipeline_id', 'job_id',
];

/**
 * Trusted Publishing (protocol in ../shared/docs/protocols.md §4): a CI job exchanges its OIDC id token
 * for a short-lived upload token for exactly the channels whose Trusted Publishers describe that job.
 * Order of checks: the id token (id-token.ts), its CI shape (ci-claims.ts), the publishers
 * (publisher-match.ts), then — atomically with the new token — the one-time claim of its `jti`.
 */
export class TrustedPublishingService {
  private readonly leeway: number;

  constructor(
    private readonly store: MetadataStore,
    private readonly clock: Clock,
    private readonly opts: TrustedPublishingOptions,
  ) {
    this.leeway = opts.leewaySeconds ?? 30;
  }

  /** The `aud` CI jobs must request for this server (GET /api/oidc/audience). */
  audience(): string {
    return this.opts.audience();
  }

  async mint(idToken: unknown, meta: { remoteAddress?: string } = {}): Promise<MintedUploadToken> {
    let verified: VerifiedIdToken | null = null;
    try {
      if (typeof idToken !== 'string' || idToken === '') {
        throw invalid('id_token_missing', 'send a JSON body {"token": "<the CI\'s OIDC id token>"}');
      }
      verified = await verifyIdToken(idToken, {
        issuers: this.opts.issuers,
        keys: this.opts.keys,
        now: this.clock.now(),
        audienceFor: (issuer) => issuer.audience ?? this.opts.audience(),
        leewaySeconds: this.leeway,
      });
      const minted = await this.exchange(verified);
      this.opts.audit({
        ...this.event('minted', verified.claims, true, meta),
        issuer: verified.issuer.url,
        token_id: minted.token.id,
        channels: minted.publishers.map((p) => p.channel),
        publishers: minted.publishers.map((p) => p.id),
        expires_at: minted.token.expiresAt,
      });
      return minted;
    } catch (e) {
      const claims = verified?.claims ?? (typeof idToken === 'string' ? unverifiedClaims(idToken) : {});
      this.opts.audit({
        ...this.event('refused', claims, verified !== null, meta),
        code: isProvenaError(e) ? e.code : 'internal_error',
        detail: isProvenaError(e) ? e.detail : String(e),
      });
      throw e;
    }
  }

  private async exchange(verified: VerifiedIdToken): Promise<MintedUploadToken> {
    const { issuer, claims } = verified;
    const ci = ciJob(issuer, claims);
    const kinds: TrustedPublisher['kind'][] = issuer.kind === 'generic' ? ['generic'] : [issuer.kind, 'generic'];
    const publishers = matchPublishers(ci, claims, await this.store.trustedPublishing.publishersOfKinds(kinds));

    const now = this.clock.now();
    const secret = newUploadTokenSecret();
    const token: UploadToken = {
      id: newUploadTokenId(),
      issuer: issuer.url,
      grants: publishers.map((p) => ({ channel: p.channel, publisherId: p.id })),
      identity: logIdentity(ci, claims, publishers),
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.opts.uploadTokenTtlSeconds * 1000).toISOString(),
    };
    // the id token stays claimed for as long as it could still be accepted (its expiry plus the leeway)
    const jtiExpiry = new Date((claims.exp + this.leeway) * 1000).toISOString();
    await this.store.transaction(async (tx) => {
      if (!(await tx.trustedPublishing.claimJti(issuer.url, claims.jti, jtiExpiry))) {
        throw new ProvenaError('jti_replayed', 'unauthenticated', `this id token (jti ${JSON.stringify(claims.jti)}) was exchanged before; each id token is exchanged once`);
      }
      if (ci.kind === 'github') await pinOwnerIds(tx, publishers, ci.job.repositoryOwnerId);
      await tx.trustedPublishing.createToken(token, hashSecret(secret));
    });
    // housekeeping, off the critical path of correctness: expired tokens stay a day so they answer token_expired
    await this.store.trustedPublishing
      .purge(now.toISOString(), new Date(now.getTime() - 86_400_000).toISOString())
      .catch(() => undefined);
    return { secret, token, publishers };
  }

  private event(outcome: MintEvent['outcome'], claims: Record<string, unknown>, verified: boolean, meta: { remoteAddress?: string }): MintEvent {
    const shown: Record<string, string> = {};
    for (const name of LOGGED_CLAIMS) {
      const v = claims[name];
      if (typeof v === 'string' || typeof v === 'number') shown[name] = String(v).slice(0, 300);
      else if (Array.isArray(v)) shown[name] = JSON.stringify(v).slice(0, 300);
    }
    return {
      outcome,
      code: null,
      detail: null,
      issuer: typeof claims['iss'] === 'string' ? claims['iss'].slice(0, 300) : null,
      verified,
      claims: shown,
      token_id: null,
      channels: [],
      publishers: [],
      expires_at: null,
      remote_address: meta.remoteAddress ?? null,
    };
  }
}

function ciJob(issuer: TrustedIssuer, claims: IdTokenClaims): CiJob {
  switch (issuer.kind) {
    case 'github':
      return { kind: 'github', job: githubJob(claims) };
    case 'gitlab':
      return { kind: 'gitlab', job: gitlabJob(claims), instance: gitlabInstance(issuer) };
    case 'generic':
      return { kind: 'generic' };
  }
}

/**
 * Trust on first use for GitHub owner ids (PyPI looks the id up when the publisher is added; this server
 * makes no calls to GitHub): a publisher added without `repository_owner_id` takes the id of the first
 * token accepted for it, and from then on a repository of the same name under another account is refused.
 */
async function pinOwnerIds(tx: MetadataStore, publishers: readonly TrustedPublisher[], ownerId: string): Promise<void> {
  for (const p of publishers) {
    if (p.kind !== 'github' || p.repositoryOwnerId !== undefined) continue;
    const held = await tx.trustedPublishing.pinRepositoryOwnerId(p.id, ownerId);
    if (held !== null && held !== ownerId) {
      throw new ProvenaError('repository_owner_id_mismatch', 'forbidden', `publisher ${p.id} was pinned to owner id ${held} meanwhile; this token's owner id is ${ownerId}`, {
        extra: { claim: 'repository_owner_id' },
      });
    }
  }
}

/** The identity the transparency log records for uploads with this token; strings only (canonical JSON). */
function logIdentity(ci: CiJob, claims: IdTokenClaims, publishers: readonly TrustedPublisher[]): Publisher {
  const opt = (name: string, v: string | null) => (v === null ? {} : { [name]: v.slice(0, 500) });
  switch (ci.kind) {
    case 'github': {
      const p = publishers.find((x) => x.kind === 'github');
      return {
        kind: 'github',
        issuer: claims.iss,
        repository: ci.job.repository,
        repository_owner_id: ci.job.repositoryOwnerId,
        ...opt('workflow', p?.kind === 'github' ? p.workflow : null),
        job_workflow_ref: ci.job.jobWorkflowRef.slice(0, 500),
        ...opt('ref', ci.job.ref),
        ...opt('sha', ci.job.sha),
        ...opt('environment', ci.job.environment),
        event_name: ci.job.eventName,
        ...opt('run_id', ci.job.runId),
        ...opt('run_attempt', ci.job.runAttempt),
      };
    }
    case 'gitlab': {
      const p = publishers.find((x) => x.kind === 'gitlab');
      return {
        kind: 'gitlab',
        issuer: claims.iss,
        instance: ci.instance,
        project: ci.job.projectPath,
        ...opt('ci_config_path', p?.kind === 'gitlab' ? p.ciConfigPath : null),
        ci_config_ref_uri: ci.job.ciConfigRefUri.slice(0, 500),
        ...opt('ref_path', ci.job.refPath),
        ...opt('sha', ci.job.sha),
        ...opt('environment', ci.job.environment),
        ...opt('pipeline_id', ci.job.pipelineId),
        ...opt('job_id', ci.job.jobId),
      };
    }
    case 'generic': {
      const names = new Set<string>(['sub']);
      for (const p of publishers) if (p.kind === 'generic') for (const n of Object.keys(p.claims)) names.add(n);
      const shown: Record<string, string> = {};
      for (const n of [...names].sort()) {
        const v = text(claims, n);
        if (v !== null) shown[n] = v.slice(0, 500);
      }
      return { kind: 'generic', issuer: claims.iss, claims: shown };
    }
  }
}

/** For the log of a refused exchange only: the payload as sent, signature unchecked. */
function unverifiedClaims(jwt: string): Record<string, unknown> {
  try {
    const payload = jwt.split('.')[1];
    if (payload === undefined || payload.length > 16 * 1024) return {};
    const v: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
