import jsonata from "jsonata";
import { PermanentTaskError, type TaskRunner } from "./types.ts";

const compiled = new Map<string, jsonata.Expression>();
const MAX_COMPILED = 1000;

/** Compiled JSONata, memoised: the same definitions run over and over. */
export function compileJsonata(expression: string): jsonata.Expression {
  let found = compiled.get(expression);
  if (!found) {
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    found = jsonata(expression);
    compiled.set(expression, found);
  }
  return found;
}

export const transformTask: TaskRunner = async (params, context) => {
  let result: unknown;
  try {
    result = await compileJsonata(String(params.expression)).evaluate(context.scope);
  } catch (err) {
    throw new PermanentTaskError(`JSONata failed: ${(err as Error).message}`);
  }
  // JSONata returns undefined for no match; store that as null so it survives JSON.
  return result === undefined ? null : JSON.parse(JSON.stringify(result));
};
