export * from "./hooks.ts";
export * from "./models.ts";
export * from "./workflows.ts";
