import { type Config, ConfigError, loadConfig } from "./config.ts";
import { serve } from "./lifecycle.ts";
import { createLogger } from "./logger.ts";
import { createPlatform, type Platform } from "./platform.ts";
import type { Service } from "./service.ts";

export interface ServiceEntry {
  build(platform: Platform): Service | Promise<Service>;
  port(config: Config): number;
}

/** The body of every main.ts: parse the environment, wire the real platform, serve until a signal. */
export async function runServices(entries: ServiceEntry[]): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger({ level: config.LOG_LEVEL });
  const platform = await createPlatform(config, logger);
  const services = await Promise.all(
    entries.map(async (entry) => ({ service: await entry.build(platform), port: entry.port(config) })),
  );
  const { servers } = await serve(platform, services, {
    hostname: config.HOST,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    logger,
  });
  if (config.embedded) {
    const lines = servers.map((s, i) => `  ${services[i]?.service.name.padEnd(22)} ${s.url}`);
    const key =
      config.API_KEYS.length === 0 ? `\nAPI key (generated for this run): ${platform.apiKeys[0]}` : "";
    console.log(
      `OmniNode Bridge (embedded: PGlite in ${config.DATA_DIR}, in-process bus, in-memory cache)\n${lines.join("\n")}${key}`,
    );
  }
}
