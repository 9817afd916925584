import type { Server as TlsServer } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { Platform } from './platform.ts';
import { buildAdminServer, buildDeviceServer, deviceTls, type ServerOptions } from './server.ts';

export interface RunningServer {
  adminUrl: string;
  deviceUrl: string;
  admin: FastifyInstance;
  device: FastifyInstance;
  close(): Promise<void>;
}

/**
 * Starts both listeners and the ledger integrator (a signed checkpoint at least every second
 * while entries arrive). A taken port fails hard instead of leaving a stale server answering.
 */
export async function startServer(
  platform: Platform,
  listen: { host: string; port: number },
  deviceListen: { host: string; port: number },
  options: ServerOptions = {},
): Promise<RunningServer> {
  const admin = await buildAdminServer(platform, options);
  let tls = await deviceTls(platform, deviceListen.host);
  const device = await buildDeviceServer(platform, tls, options);
  const adminUrl = await admin.listen({ host: listen.host, port: listen.port });
  let deviceUrl: string;
  try {
    deviceUrl = await device.listen({ host: deviceListen.host, port: deviceListen.port });
  } catch (error) {
    await admin.close();
    throw error;
  }
  const stopIntegrator = platform.ledger.startIntegrator(250, (error) =>
    admin.log.error({ err: error }, 'ledger integration failed'),
  );
  const stopMaintenance = platform.identity.startMaintenance((error) =>
    admin.log.error({ err: error }, 'identity upkeep failed'),
  );
  // New or rotated CAs (made by any process) join the device endpoint's trust list within seconds.
  let refreshing = false;
  const trustTimer = setInterval(() => {
    if (refreshing) return;
    refreshing = true;
    void deviceTls(platform, deviceListen.host)
      .then((next) => {
        if (next.ca.join() !== tls.ca.join() || next.cert !== tls.cert) {
          (device.server as unknown as TlsServer).setSecureContext({
            key: next.key,
            cert: next.cert,
            ca: next.ca,
          });
          tls = next;
        }
      })
      .catch((error: unknown) => device.log.error({ err: error }, 'device TLS refresh failed'))
      .finally(() => (refreshing = false));
  }, 2000);
  return {
    adminUrl,
    deviceUrl,
    admin,
    device,
    async close() {
      clearInterval(trustTimer);
      await Promise.all([admin.close(), device.close()]);
      await stopMaintenance();
      await stopIntegrator();
      await platform.ledger.integrate();
    },
  };
}
