import { and, desc, eq, sql } from "drizzle-orm";
import type { Database } from "../../../../db/client.ts";
import { workflowDefinitions } from "../../../../db/schema/workflows.ts";
import type { WorkflowDefinition } from "../definition/schema.ts";

export interface StoredDefinition {
  name: string;
  version: number;
  definition: WorkflowDefinition;
  createdAt: Date;
}

const UNIQUE_VIOLATION = "23505";

/** Registered definitions; each PUT adds a version and a run keeps the version it started with. */
export class DefinitionStore {
  constructor(private readonly database: Database) {}

  async put(definition: WorkflowDefinition): Promise<StoredDefinition> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.database.transaction("workflow_definition_put", async (tx) => {
          const [latest] = await tx
            .select({ version: sql<number>`coalesce(max(${workflowDefinitions.version}), 0)` })
            .from(workflowDefinitions)
            .where(eq(workflowDefinitions.name, definition.name));
          const version = Number(latest?.version ?? 0) + 1;
          const [row] = await tx
            .insert(workflowDefinitions)
            .values({ name: definition.name, version, definition })
            .returning();
          if (!row) throw new Error("definition insert returned no row");
          return { ...row, definition: row.definition as WorkflowDefinition };
        });
      } catch (err) {
        // Two concurrent PUTs picked the same next version; the loser takes the one after.
        if (attempt < 3 && pgCode(err) === UNIQUE_VIOLATION) continue;
        throw err;
      }
    }
  }

  async get(name: string, version?: number): Promise<StoredDefinition | undefined> {
    const rows = await this.database.run("workflow_definition_get", (db) =>
      db
        .select()
        .from(workflowDefinitions)
        .where(
          version === undefined
            ? eq(workflowDefinitions.name, name)
            : and(eq(workflowDefinitions.name, name), eq(workflowDefinitions.version, version)),
        )
        .orderBy(desc(workflowDefinitions.version))
        .limit(1),
    );
    const row = rows[0];
    return row ? { ...row, definition: row.definition as WorkflowDefinition } : undefined;
  }

  /** The latest version of every definition. */
  async latest(): Promise<StoredDefinition[]> {
    const rows = await this.database.run("workflow_definition_latest", (db) =>
      db
        .selectDistinctOn([workflowDefinitions.name])
        .from(workflowDefinitions)
        .orderBy(workflowDefinitions.name, desc(workflowDefinitions.version)),
    );
    return rows.map((row) => ({ ...row, definition: row.definition as WorkflowDefinition }));
  }
}

function pgCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
