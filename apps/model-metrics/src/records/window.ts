import { z } from "zod";

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A look-back window such as `90s`, `15m`, `24h` or `7d`, parsed to milliseconds. */
export const windowSchema = z
  .string()
  .regex(/^\d{1,6}[smhd]$/, "expected a number and a unit: s, m, h or d (e.g. 24h)")
  .transform((w) => Number(w.slice(0, -1)) * UNIT_MS[w.slice(-1) as keyof typeof UNIT_MS]);
