import type { FastifyInstance } from 'fastify';
import type { Platform } from './platform.ts';
import { buildAdminServer, buildDeviceServer, type ServerOptions } from './server.ts';

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
  const device = await buildDeviceServer(platform, options);
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
  return {
    adminUrl,
    deviceUrl,
    admin,
    device,
    async close() {
      await Promise.all([admin.close(), device.close()]);
      await stopIntegrator();
      await platform.ledger.integrate();
    },
  };
}
