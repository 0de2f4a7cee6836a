import type { Server } from "bun";
import type { Logger } from "./logger.ts";
import type { Platform } from "./platform.ts";
import type { Service } from "./service.ts";

export interface ServedService {
  service: Service;
  port: number;
}

/**
 * Starts the services and serves each on its port. On SIGINT or SIGTERM it stops accepting, lets the
 * in-flight requests finish, stops background work (which flushes producers and commits offsets) and
 * closes the pools, all within `shutdownTimeoutMs`; past that the process exits with 1.
 */
export async function serve(
  platform: Platform,
  entries: ServedService[],
  options: { hostname: string; shutdownTimeoutMs: number; logger: Logger },
): Promise<{ servers: Server<undefined>[]; shutdown: (signal: string) => Promise<void> }> {
  const { logger } = options;
  for (const { service } of entries) await service.start();
  const servers = entries.map(({ service, port }) =>
    Bun.serve({ port, hostname: options.hostname, fetch: service.app.fetch, idleTimeout: 30 }),
  );
  for (const [i, server] of servers.entries()) {
    logger.info({ service: entries[i]?.service.name, url: server.url.toString() }, "listening");
  }

  let shuttingDown: Promise<void> | undefined;
  const shutdown = (signal: string) => {
    shuttingDown ??= (async () => {
      logger.info({ signal }, "shutting down");
      const deadline = setTimeout(() => {
        logger.error({ timeoutMs: options.shutdownTimeoutMs }, "shutdown timed out");
        process.exit(1);
      }, options.shutdownTimeoutMs);
      deadline.unref();
      await Promise.all(servers.map((s) => s.stop(false)));
      for (const { service } of entries) {
        await service.stop().catch((err) => logger.error({ err, service: service.name }, "stop failed"));
      }
      await platform.close();
      clearTimeout(deadline);
      logger.info("stopped");
    })();
    return shuttingDown;
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      void shutdown(signal).then(() => process.exit(0));
    });
  }
  return { servers, shutdown };
}
