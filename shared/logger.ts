import pino from "pino";

export type Logger = pino.Logger;

export function createLogger(options: { level?: string; service?: string } = {}): Logger {
  return pino({
    level: options.level ?? process.env.LOG_LEVEL ?? "info",
    base: options.service ? { service: options.service } : {},
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

/** For tests and benchmarks: a logger that writes nothing. */
export const silentLogger: Logger = pino({ level: "silent" });
