import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppServices } from '../../../app.ts';
import { principalOf } from '../principal.ts';
import { sendServedFile } from '../send-file.ts';
import { isReceiptPath, sendFileReceipt } from './log.ts';
import { tufRoutes } from './tuf.ts';

type FileParams = { token?: string; channel: string; subdir: string; file: string };

/** What conda, mamba, pixi and rattler fetch: `/NAME/SUBDIR/FILE`, shards, notices, and the `/t/TOKEN/` forms. */
export function condaRoutes(app: FastifyInstance, s: AppServices) {
  const serveFile = (shard: boolean) => async (req: FastifyRequest<{ Params: FileParams }>, reply: FastifyReply) => {
    const { token, channel, subdir, file } = req.params;
    const principal = await principalOf(req, s.access, token);
    if (!shard && isReceiptPath(file)) return sendFileReceipt(reply, s, principal, channel, subdir, file);
    const served = await s.servedFiles.resolve(principal, channel, subdir, shard ? `shards/${file}` : file);
    return sendServedFile(req, reply, served, s.blobs);
  };
  const notices = async (req: FastifyRequest<{ Params: { token?: string; channel: string } }>, reply: FastifyReply) => {
    const principal = await principalOf(req, s.access, req.params.token);
    return sendServedFile(req, reply, await s.servedFiles.notices(principal, req.params.channel), s.blobs);
  };
  const route = { method: ['GET', 'HEAD'] as ('GET' | 'HEAD')[], exposeHeadRoute: false };
  for (const prefix of ['', '/t/:token']) {
    app.route({ ...route, url: `${prefix}/:channel/notices.json`, handler: notices });
    app.route({ ...route, url: `${prefix}/:channel/:subdir/:file`, handler: serveFile(false) });
    app.route({ ...route, url: `${prefix}/:channel/:subdir/shards/:file`, handler: serveFile(true) });
  }
  tufRoutes(app, s);
}
