import { z } from "zod";

type Method = "get" | "post" | "put" | "patch" | "delete";

export interface RouteDoc {
  method: Method;
  /** Hono syntax: `/api/v1/hooks/:id`. */
  path: string;
  summary: string;
  tags?: string[];
  auth?: "apiKey" | "signature" | "none";
  body?: z.ZodType;
  query?: z.ZodObject;
  responses: Record<number, { description: string; schema?: z.ZodType }>;
}

const errorSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    request_id: z.string(),
    details: z.array(z.object({ field: z.string().optional(), message: z.string() })).optional(),
  }),
});

const jsonSchema = (schema: z.ZodType, io: "input" | "output") =>
  z.toJSONSchema(schema, { io, unrepresentable: "any", target: "openapi-3.0" });

/** Collects route descriptions next to the routes, built from the zod schemas that validate them. */
export class OpenApiDocument {
  private readonly routes: RouteDoc[] = [];

  constructor(
    private readonly title: string,
    private readonly version = "0.1.0",
  ) {}

  add(route: RouteDoc): void {
    this.routes.push(route);
  }

  toJSON(): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const route of this.routes) {
      const path = route.path.replace(/:(\w+)/g, "{$1}");
      const parameters: unknown[] = [...route.path.matchAll(/:(\w+)/g)].map((m) => ({
        name: m[1],
        in: "path",
        required: true,
        schema: { type: "string" },
      }));
      if (route.query) {
        for (const [name, schema] of Object.entries(route.query.shape)) {
          parameters.push({
            name,
            in: "query",
            required: false,
            schema: jsonSchema(schema as z.ZodType, "input"),
          });
        }
      }
      const responses: Record<string, unknown> = {};
      for (const [status, response] of Object.entries(route.responses)) {
        const schema = Number(status) >= 400 ? (response.schema ?? errorSchema) : response.schema;
        responses[status] = schema
          ? {
              description: response.description,
              content: { "application/json": { schema: jsonSchema(schema, "output") } },
            }
          : { description: response.description };
      }
      paths[path] ??= {};
      paths[path][route.method] = {
        summary: route.summary,
        tags: route.tags,
        security: route.auth === "apiKey" ? [{ apiKey: [] }, { bearer: [] }] : [],
        parameters,
        requestBody: route.body
          ? { required: true, content: { "application/json": { schema: jsonSchema(route.body, "input") } } }
          : undefined,
        responses,
      };
    }
    return {
      openapi: "3.0.3",
      info: { title: this.title, version: this.version },
      components: {
        securitySchemes: {
          apiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
          bearer: { type: "http", scheme: "bearer" },
        },
      },
      paths,
    };
  }
}
