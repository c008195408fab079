// s3rver in its own process: its ListObjectsV2 continuation tokens use DES, which Node's OpenSSL 3
// only offers with --openssl-legacy-provider (test/support/s3.ts starts this file with that flag).
import S3rver from 's3rver';

const [directory, bucket] = process.argv.slice(2);
const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, configureBuckets: [{ name: bucket }] });
const { port } = await server.run();
process.stdout.write(`s3rver listening on ${port}\n`);
process.on('SIGTERM', () => {
  server.httpServer?.closeAllConnections();
  server.close().finally(() => process.exit(0));
});
