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
  /** Null when device workers serve the device endpoint (see `startDeviceWorker`). */
  device: FastifyInstance | null;
  close(): Promise<void>;
}

export interface StartOptions extends ServerOptions {
  /** Leave the device endpoint to device worker processes: this process runs the rest. */
  deviceInWorkers?: boolean;
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
  options: StartOptions = {},
): Promise<RunningServer> {
  const admin = await buildAdminServer(platform, options);
  const status = await buildStatusServer(platform, options);
  const adminUrl = await admin.listen({ host: listen.host, port: listen.port });
  let device: RunningDevice | null = null;
  let statusUrl: string;
  try {
    if (options.deviceInWorkers !== true) device = await startDeviceEndpoint(platform, deviceListen, options);
    statusUrl = await status.listen({ host: statusListen.host, port: statusListen.port });
  } catch (error) {
    await Promise.all([admin.close(), device?.close(), status.close()]);
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
  return {
    adminUrl,
    deviceUrl: device?.url ?? `https://${urlHost(deviceListen.host)}:${deviceListen.port}`,
    statusUrl,
    admin,
    device: device?.app ?? null,
    async close() {
      await Promise.all([admin.close(), device?.close(), status.close()]);
      await stopMaintenance();
      await stopAttestationUpkeep();
      await stopUpdatesUpkeep();
      await stopIntegrator();
      await platform.ledger.integrate();
    },
  };
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

interface RunningDevice {
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

/**
 * The device endpoint listening, with its own certificate renewed before it lapses (by any
 * process): the new one is served without a restart.
 */
async function startDeviceEndpoint(
  platform: Platform,
  deviceListen: { host: string; port: number },
  options: ServerOptions,
): Promise<RunningDevice> {
  let tls = await deviceTls(platform, deviceListen.host);
  const app = await buildDeviceServer(platform, tls, options);
  const url = await app.listen({ host: deviceListen.host, port: deviceListen.port });
  let refreshing = false;
  const trustTimer = setInterval(() => {
    if (refreshing) return;
    refreshing = true;
    void deviceTls(platform, deviceListen.host)
      .then((next) => {
        if (next.cert !== tls.cert) {
          (app.server as unknown as TlsServer).setSecureContext({ key: next.key, cert: next.cert });
          tls = next;
        }
      })
      .catch((error: unknown) => app.log.error({ err: error }, 'device TLS refresh failed'))
      .finally(() => (refreshing = false));
  }, 60_000);
  trustTimer.unref();
  return {
    url,
    app,
    async close() {
      clearInterval(trustTimer);
      await app.close();
    },
  };
}

/**
 * A device worker: one of several processes (node:cluster) that share the device endpoint's
 * port, each with its own store connection, for the fleet's hot paths (check-in, attestation,
 * enrollment) to use every core. It keeps the revocation state current for its OCSP answers; the
 * main process runs the admin API, the status listener and the installation's upkeep.
 */
export async function startDeviceWorker(
  platform: Platform,
  deviceListen: { host: string; port: number },
  options: ServerOptions = {},
): Promise<{ url: string; close(): Promise<void> }> {
  const device = await startDeviceEndpoint(platform, deviceListen, options);
  const stopMaintenance = platform.identity.startMaintenance((error) =>
    device.app.log.error({ err: error }, 'identity upkeep failed'),
  );
  return {
    url: device.url,
    async close() {
      await device.close();
      await stopMaintenance();
    },
  };
}
