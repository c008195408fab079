import { GITHUB_ISSUER, GITLAB_DEFAULT_ISSUER } from './publisher.ts';

/**
 * The OIDC issuers whose tokens the server exchanges for upload tokens (Trusted Publishing).
 *
 * How a publisher binds to an issuer — each trusted issuer speaks for one identity namespace:
 * - kind `github`: GitHub's repository namespace. Every GitHub publisher (`acme/widgets` +
 *   `release.yml`) matches tokens from every issuer of kind github. By default that is only GitHub
 *   Actions itself; adding another github-kind issuer (a test issuer, a GitHub Enterprise proxy) trusts
 *   it to speak for github.com's repositories exactly as GitHub does.
 * - kind `gitlab`: one GitLab instance's project namespace, named by `instance` (default: the issuer's
 *   own URL). A GitLab publisher matches tokens from the gitlab-kind issuer whose instance equals the
 *   publisher's `issuer` field (`https://gitlab.com` unless self-managed).
 * - generic publishers match tokens whose `iss` equals their `issuer`, from an issuer of any kind.
 * A token whose `iss` is not one of these issuers (compared as exact strings) is refused before any
 * key is fetched.
 */
export type IssuerKind = 'github' | 'gitlab' | 'generic';

export interface TrustedIssuer {
  /** exactly the tokens' `iss`; discovery at `<url>/.well-known/openid-configuration` */
  url: string;
  kind: IssuerKind;
  /** the `aud` tokens must carry; null: the server's audience (its public host name) */
  audience: string | null;
  /** gitlab only: the GitLab instance (publisher `issuer`) this issuer vouches for; null = `url` */
  instance: string | null;
}

export const DEFAULT_ISSUERS: readonly TrustedIssuer[] = [
  { url: GITHUB_ISSUER, kind: 'github', audience: null, instance: null },
  { url: GITLAB_DEFAULT_ISSUER, kind: 'gitlab', audience: null, instance: null },
];

/** The defaults (unless left out) plus the configured ones; a configured issuer replaces a default of the same URL. */
export function trustedIssuers(configured: readonly TrustedIssuer[], withDefaults: boolean): TrustedIssuer[] {
  const byUrl = new Map<string, TrustedIssuer>();
  for (const issuer of withDefaults ? DEFAULT_ISSUERS : []) byUrl.set(issuer.url, issuer);
  for (const issuer of configured) byUrl.set(issuer.url, issuer);
  return [...byUrl.values()];
}

/** The GitLab instance a gitlab-kind issuer vouches for. */
export function gitlabInstance(issuer: TrustedIssuer): string {
  return issuer.instance ?? issuer.url;
}

/**
 * Issuer URLs the server may fetch keys from: https, or http only to this machine (a local test issuer);
 * no credentials, query or fragment, since the URL is compared with `iss` as an exact string.
 */
export function issuerUrlProblem(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (u.username || u.password || u.search || u.hash) return 'must not carry credentials, a query or a fragment';
  if (u.protocol === 'https:') return null;
  if (u.protocol === 'http:' && isLoopback(u.hostname)) return null;
  return 'must be https (http only for 127.0.0.1, ::1 or localhost)';
}

export function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || hostname === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}
