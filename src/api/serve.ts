import type { Server as TlsServer } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { Platform } from './platform.ts';
import {
  buildAdminServer,
  buildDeviceServer,
  buildStatusServer,
  deviceTls,
  type ServerOptions,
} from './server.ts';

export interface RunningServer {
  adminUrl: string;
  deviceUrl: string;
  statusUrl: string;
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
  statusListen: { host: string; port: number },
  options: ServerOptions = {},
): Promise<RunningServer> {
  const admin = await buildAdminServer(platform, options);
  let tls = await deviceTls(platform, deviceListen.host);
  const device = await buildDeviceServer(platform, tls, options);
  const status = await buildStatusServer(platform, options);
  const adminUrl = await admin.listen({ host: listen.host, port: listen.port });
  let deviceUrl: string;
  let statusUrl: string;
  try {
    deviceUrl = await device.listen({ host: deviceListen.host, port: deviceListen.port });
    statusUrl = await status.listen({ host: statusListen.host, port: statusListen.port });
  } catch (error) {
    await Promise.all([admin.close(), device.close(), status.close()]);
    throw error;
  }
  const stopIntegrator = platform.ledger.startIntegrator(250, (error) =>
    admin.log.error({ err: error }, 'ledger integration failed'),
  );
  const stopMaintenance = platform.identity.startMaintenance((error) =>
    admin.log.error({ err: error }, 'identity upkeep failed'),
  );
  const stopAttestationUpkeep = platform.attestation.startMaintenance((error) =>
    admin.log.error({ err: error }, 'attestation upkeep failed'),
  );
  const stopUpdatesUpkeep = platform.updates.startMaintenance((error) =>
    admin.log.error({ err: error }, 'TUF metadata refresh failed'),
  );
  // The device endpoint's own certificate is renewed before it lapses (by any process): serve the new one.
  let refreshing = false;
  const trustTimer = setInterval(() => {
    if (refreshing) return;
    refreshing = true;
    void deviceTls(platform, deviceListen.host)
      .then((next) => {
        if (next.cert !== tls.cert) {
          (device.server as unknown as TlsServer).setSecureContext({
            key: next.key,
            cert: next.cert,
          });
          tls = next;
        }
      })
      .catch((error: unknown) => device.log.error({ err: error }, 'device TLS refresh failed'))
      .finally(() => (refreshing = false));
  }, 60_000);
  return {
    adminUrl,
    deviceUrl,
    statusUrl,
    admin,
    device,
    async close() {
      clearInterval(trustTimer);
      await Promise.all([admin.close(), device.close(), status.close()]);
      await stopMaintenance();
      await stopAttestationUpkeep();
      await stopUpdatesUpkeep();
      await stopIntegrator();
      await platform.ledger.integrate();
    },
  };
}
