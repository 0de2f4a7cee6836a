import { ApiError, type ErrorDetail } from "../../../../shared/errors.ts";
import { isValidTemplatePath, templateReferences } from "../engine/templating.ts";
import { compileJsonata } from "../tasks/transform.ts";
import type { TaskDefinition, WorkflowDefinition } from "./schema.ts";

/**
 * The checks zod cannot express: unique ids, known dependencies, no cycles, template references to
 * ancestors only, and JSONata that compiles. Throws one 400 naming every problem.
 */
export function assertValidDag(definition: WorkflowDefinition, field = ""): void {
  const problems: ErrorDetail[] = [];
  const at = (path: string) => (field ? `${field}.${path}` : path);
  const byId = new Map<string, TaskDefinition>();
  definition.tasks.forEach((task, index) => {
    if (byId.has(task.id))
      problems.push({ field: at(`tasks.${index}.id`), message: `duplicate task id "${task.id}"` });
    byId.set(task.id, task);
  });

  definition.tasks.forEach((task, index) => {
    for (const dep of task.depends_on) {
      if (dep === task.id) {
        problems.push({
          field: at(`tasks.${index}.depends_on`),
          message: `task "${task.id}" depends on itself`,
        });
      } else if (!byId.has(dep)) {
        problems.push({
          field: at(`tasks.${index}.depends_on`),
          message: `task "${task.id}" depends on unknown task "${dep}"`,
        });
      }
    }
  });
  if (problems.length === 0) {
    const cycle = findCycle(definition.tasks);
    if (cycle) problems.push({ field: at("tasks"), message: `dependency cycle: ${cycle.join(" -> ")}` });
  }

  if (problems.length === 0) {
    const ancestors = ancestorSets(definition.tasks);
    definition.tasks.forEach((task, index) => {
      for (const ref of templateReferences(task.params)) {
        if (!isValidTemplatePath(ref.path)) {
          problems.push({
            field: at(`tasks.${index}.params`),
            message: `"{{${ref.path}}}" must read input.… or tasks.<id>.output.…`,
          });
        } else if (ref.taskId !== undefined && !ancestors.get(task.id)?.has(ref.taskId)) {
          problems.push({
            field: at(`tasks.${index}.params`),
            message: `"{{${ref.path}}}" reads task "${ref.taskId}", which "${task.id}" does not depend on`,
          });
        }
      }
      const expressions: [string, string | undefined][] = [
        ["when", task.when],
        ["params.expression", task.type === "transform" ? task.params.expression : undefined],
      ];
      for (const [path, expression] of expressions) {
        if (expression === undefined) continue;
        try {
          compileJsonata(expression);
        } catch (err) {
          problems.push({
            field: at(`tasks.${index}.${path}`),
            message: `invalid JSONata: ${(err as Error).message}`,
          });
        }
      }
      if (task.type === "delay" && typeof task.params.ms === "string" && !task.params.ms.includes("{{")) {
        problems.push({
          field: at(`tasks.${index}.params.ms`),
          message: "ms must be a number or a template",
        });
      }
    });
  }

  if (problems.length > 0) {
    throw new ApiError(400, "VALIDATION_FAILED", `invalid workflow definition: ${problems[0]?.message}`, {
      details: problems,
    });
  }
}

/** The first cycle found, as task ids with the first repeated at the end; undefined for a DAG. */
export function findCycle(tasks: readonly TaskDefinition[]): string[] | undefined {
  const deps = new Map(tasks.map((t) => [t.id, t.depends_on]));
  const position = new Map(tasks.map((t, i) => [t.id, i]));
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    state.set(id, "visiting");
    stack.push(id);
    for (const dep of deps.get(id) ?? []) {
      const seen = state.get(dep);
      if (seen === "visiting") {
        // The stack runs dependant -> dependency; report it in execution order, starting from the
        // task declared first, so the same cycle always reads the same way.
        const cycle = stack.slice(stack.indexOf(dep)).reverse();
        const first = cycle.reduce(
          (best, id, i) => ((position.get(id) ?? 0) < (position.get(cycle[best] ?? "") ?? 0) ? i : best),
          0,
        );
        const rotated = [...cycle.slice(first), ...cycle.slice(0, first)];
        return [...rotated, rotated[0] ?? dep];
      }
      if (seen === undefined) {
        const found = visit(dep);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(id, "done");
    return undefined;
  };
  for (const task of tasks) {
    if (state.has(task.id)) continue;
    const found = visit(task.id);
    if (found) return found;
  }
  return undefined;
}

function ancestorSets(tasks: readonly TaskDefinition[]): Map<string, Set<string>> {
  const deps = new Map(tasks.map((t) => [t.id, t.depends_on]));
  const memo = new Map<string, Set<string>>();
  const ancestors = (id: string): Set<string> => {
    const known = memo.get(id);
    if (known) return known;
    const set = new Set<string>();
    memo.set(id, set);
    for (const dep of deps.get(id) ?? []) {
      set.add(dep);
      for (const a of ancestors(dep)) set.add(a);
    }
    return set;
  };
  for (const task of tasks) ancestors(task.id);
  return memo;
}
