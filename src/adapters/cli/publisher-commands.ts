import { apiRequest } from './api-client.ts';
import { usageError } from './cli-error.ts';
import { CLIENT_OPTIONS, out, target } from './client-commands.ts';
import { parse } from './run-cli.ts';

interface PublisherJson {
  id: string;
  kind: string;
  repository?: string;
  workflow?: string;
  project?: string;
  ci_config_path?: string;
  issuer?: string;
  environment?: string | null;
  claims?: Record<string, string>;
}

const USAGE =
  'provena publisher add CHANNEL --kind github --repository OWNER/NAME --workflow FILE.yml [--environment ENV] [--repository-owner-id ID]\n' +
  '       provena publisher add CHANNEL --kind gitlab --project GROUP/PROJECT --ci-config-path .gitlab-ci.yml [--environment ENV] [--issuer URL]\n' +
  '       provena publisher add CHANNEL --kind generic --issuer URL --claim NAME=VALUE...\n' +
  '       provena publisher list CHANNEL | remove CHANNEL ID';

export function describePublisher(p: PublisherJson): string {
  const env = p.environment ? ` environment ${p.environment}` : '';
  switch (p.kind) {
    case 'github':
      return `github ${p.repository} workflow ${p.workflow}${env}`;
    case 'gitlab':
      return `gitlab ${p.project} ${p.ci_config_path}${env} (${p.issuer})`;
    default:
      return `generic ${p.issuer} ${Object.entries(p.claims ?? {}).map(([k, v]) => `${k}=${v}`).join(' ')}`;
  }
}

/** `provena publisher add|list|remove`: a channel's Trusted Publishers. */
export async function publisherCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parse(
    rest,
    {
      ...CLIENT_OPTIONS,
      kind: { type: 'string' },
      repository: { type: 'string' },
      'repository-owner-id': { type: 'string' },
      workflow: { type: 'string' },
      environment: { type: 'string' },
      project: { type: 'string' },
      'ci-config-path': { type: 'string' },
      issuer: { type: 'string' },
      claim: { type: 'string', multiple: true },
    },
    true,
  );
  const t = target(values, env);
  const channel = positionals[0];
  if (!channel) throw usageError(USAGE);
  const base = `/api/v1/channels/${encodeURIComponent(channel)}/publishers`;
  switch (sub) {
    case 'add': {
      const body: Record<string, unknown> = { kind: values.kind };
      if (values.kind === 'github') {
        Object.assign(body, { repository: values.repository, workflow: values.workflow });
        if (values['repository-owner-id'] !== undefined) body.repository_owner_id = values['repository-owner-id'];
      }
      else if (values.kind === 'gitlab') Object.assign(body, { project: values.project, ci_config_path: values['ci-config-path'], issuer: values.issuer });
      else if (values.kind === 'generic') {
        const claims: Record<string, string> = {};
        for (const c of values.claim ?? []) {
          const eq = c.indexOf('=');
          if (eq <= 0) throw usageError(`--claim takes NAME=VALUE, got ${JSON.stringify(c)}`);
          claims[c.slice(0, eq)] = c.slice(eq + 1);
        }
        Object.assign(body, { issuer: values.issuer, claims });
      } else throw usageError(`--kind must be github, gitlab or generic\n${USAGE}`);
      if (values.environment !== undefined) body.environment = values.environment;
      const p = await apiRequest<PublisherJson>(t, 'POST', base, body);
      out(values.json ? JSON.stringify(p) : `added publisher ${p.id}: ${describePublisher(p)}`);
      return 0;
    }
    case 'list': {
      const { publishers } = await apiRequest<{ publishers: PublisherJson[] }>(t, 'GET', base);
      if (values.json) out(JSON.stringify(publishers));
      else for (const p of publishers) out(`${p.id}\t${describePublisher(p)}`);
      return 0;
    }
    case 'remove': {
      const id = positionals[1];
      if (!id) throw usageError('provena publisher remove CHANNEL ID');
      await apiRequest(t, 'DELETE', `${base}/${encodeURIComponent(id)}`);
      out(`removed publisher ${id}`);
      return 0;
    }
    default:
      throw usageError(USAGE);
  }
}
