import postgres from "postgres";

/** The development and CI servers; tests fail, never skip, when these are not reachable. */
export const TEST_POSTGRES_URL =
  process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A fresh database on the real Postgres server for one test file. */
export async function createTestDatabase(label = "test"): Promise<TestDatabase> {
  const name = `omninode_${label.replace(/\W/g, "_")}_${crypto.randomUUID().slice(0, 8)}`.toLowerCase();
  const admin = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const sql = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await sql.end();
      }
    },
  };
}

export function uniquePrefix(label: string): string {
  return `${label}-${crypto.randomUUID().slice(0, 8)}.`;
}
