// The baseline of `device.checkin`: a bare Fastify route on the same TLS setup as the device
// endpoint (TLS 1.2+, client certificates requested), answering a check-in-sized JSON body.
// Run as its own process, as `vigil serve` is; prints {"port": N} once listening.
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const [keyFile, certFile] = process.argv.slice(2);
const app = Fastify({
  logger: false,
  https: {
    key: readFileSync(keyFile!, 'utf8'),
    cert: readFileSync(certFile!, 'utf8'),
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
  },
});
app.post('/device/v1/checkin', async () => ({ update: null }));
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
console.log(JSON.stringify({ port: typeof address === 'object' && address !== null ? address.port : 0 }));
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
