import { z } from 'zod';
import { issuerUrlProblem, type TrustedIssuer } from '../../core/publish/oidc-issuers.ts';

/**
 * Settings of Trusted Publishing (docs/configuration.md). `issuers` is a list of tables in the config
 * file, or JSON in PROVENA_ISSUERS:
 *
 *   issuers = [{ url = "https://gitlab.example.com", kind = "gitlab" },
 *              { url = "https://token.actions.githubusercontent.com", kind = "github", audience = "conda.example.org" }]
 */
const IssuerSchema = z
  .object({
    url: z.string().superRefine((url, ctx) => {
      const problem = issuerUrlProblem(url);
      if (problem !== null) ctx.addIssue({ code: 'custom', message: `issuer url ${JSON.stringify(url)}: ${problem}` });
    }),
    kind: z.enum(['github', 'gitlab', 'generic']),
    audience: z.string().min(1).max(255).optional(),
    // the GitLab instance a gitlab-kind issuer vouches for, in the form publishers name it (https, no trailing slash)
    instance: z
      .string()
      .regex(/^https:\/\/[^/?#@\s]+(\/[^?#@\s]*[^/?#@\s])?$/, 'must be an https URL without trailing slash, e.g. https://gitlab.com')
      .optional(),
  })
  .strict()
  .refine((i) => i.instance === undefined || i.kind === 'gitlab', { message: '"instance" applies only to issuers of kind gitlab' })
  .transform((i): TrustedIssuer => ({ url: i.url, kind: i.kind, audience: i.audience ?? null, instance: i.instance ?? null }));

const booleanSetting = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);

export const trustedPublishingSettings = {
  // OIDC issuers trusted for Trusted Publishing, in addition to GitHub Actions and gitlab.com
  issuers: z.array(IssuerSchema).max(50).default([]),
  // false: trust only the configured issuers (not GitHub Actions and gitlab.com)
  oidc_default_issuers: booleanSetting.default(true),
  // the `aud` id tokens must carry; default: the public URL's host name (what rattler-build requests)
  oidc_audience: z.string().min(1).max(255).optional(),
  // lifetime of minted upload tokens (15 minutes); lower only to test expiry
  upload_token_ttl_seconds: z.coerce.number().int().min(1).max(3600).default(900),
};

/** PROVENA_ISSUERS holds the issuer list as JSON (a list cannot be one plain variable). */
export function issuersFromEnv(env: NodeJS.ProcessEnv): { issuers?: unknown } {
  const raw = env.PROVENA_ISSUERS;
  if (raw === undefined || raw === '') return {};
  try {
    return { issuers: JSON.parse(raw) as unknown };
  } catch {
    return { issuers: `PROVENA_ISSUERS is not JSON: ${raw.slice(0, 80)}` };
  }
}
