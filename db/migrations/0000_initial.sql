CREATE TABLE "hook_events" (
	"event_id" uuid PRIMARY KEY NOT NULL,
	"source" text NOT NULL,
	"action" text NOT NULL,
	"resource" text NOT NULL,
	"resource_id" text NOT NULL,
	"correlation_id" text,
	"delivery_id" text,
	"received_at" timestamp with time zone NOT NULL,
	"payload" jsonb NOT NULL,
	"replay_of" uuid,
	"stored_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "hook_outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"event_id" uuid NOT NULL,
	"topic" text NOT NULL,
	"key" text,
	"value" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "hook_outbox_event_id_unique" UNIQUE("event_id")
);
--> statement-breakpoint
CREATE TABLE "service_sessions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"service_name" text NOT NULL,
	"instance_id" text NOT NULL,
	"status" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	"end_reason" text,
	"opened_by" uuid NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "model_executions" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"model_id" text NOT NULL,
	"task_type" text NOT NULL,
	"status" text NOT NULL,
	"latency_ms" double precision NOT NULL,
	"tokens_in" integer DEFAULT 0 NOT NULL,
	"tokens_out" integer DEFAULT 0 NOT NULL,
	"tokens_per_second" double precision,
	"quality_score" double precision,
	"error" text,
	"escalated_from" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "models" (
	"id" text PRIMARY KEY NOT NULL,
	"provider" text NOT NULL,
	"base_url" text,
	"model" text NOT NULL,
	"tier" text NOT NULL,
	"task_types" jsonb NOT NULL,
	"max_concurrency" integer NOT NULL,
	"timeout_ms" integer NOT NULL,
	"api_key_env" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "workflow_definitions" (
	"name" text NOT NULL,
	"version" integer NOT NULL,
	"definition" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "workflow_definitions_name_version_pk" PRIMARY KEY("name","version")
);
--> statement-breakpoint
CREATE TABLE "workflow_runs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"version" integer,
	"definition" jsonb NOT NULL,
	"status" text NOT NULL,
	"input" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"output" jsonb,
	"error" text,
	"priority" integer DEFAULT 0 NOT NULL,
	"idempotency_key" text,
	"trigger_event_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	"deadline_at" timestamp with time zone,
	"owner" text,
	"lease_expires_at" timestamp with time zone,
	"completion_published" boolean DEFAULT false NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "workflow_tasks" (
	"run_id" uuid NOT NULL,
	"task_id" text NOT NULL,
	"type" text NOT NULL,
	"status" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"ready_at" timestamp with time zone,
	"next_attempt_at" timestamp with time zone,
	"started_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	"output" jsonb,
	"error" text,
	"attempt_owner" text,
	CONSTRAINT "workflow_tasks_run_id_task_id_pk" PRIMARY KEY("run_id","task_id")
);
--> statement-breakpoint
ALTER TABLE "workflow_tasks" ADD CONSTRAINT "workflow_tasks_run_id_workflow_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."workflow_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "hook_events_received_at_idx" ON "hook_events" USING btree ("received_at");--> statement-breakpoint
CREATE INDEX "hook_events_source_received_at_idx" ON "hook_events" USING btree ("source","received_at");--> statement-breakpoint
CREATE UNIQUE INDEX "service_sessions_one_active_idx" ON "service_sessions" USING btree ("service_name","instance_id") WHERE "service_sessions"."status" = 'active';--> statement-breakpoint
CREATE INDEX "service_sessions_started_at_idx" ON "service_sessions" USING btree ("started_at");--> statement-breakpoint
CREATE INDEX "model_executions_model_task_created_idx" ON "model_executions" USING btree ("model_id","task_type","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "workflow_runs_idempotency_key_idx" ON "workflow_runs" USING btree ("idempotency_key");--> statement-breakpoint
CREATE INDEX "workflow_runs_status_created_idx" ON "workflow_runs" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "workflow_runs_name_created_idx" ON "workflow_runs" USING btree ("name","created_at");--> statement-breakpoint
CREATE INDEX "workflow_runs_lease_idx" ON "workflow_runs" USING btree ("lease_expires_at") WHERE "workflow_runs"."status" in ('pending', 'running', 'paused');--> statement-breakpoint
CREATE INDEX "workflow_runs_unpublished_idx" ON "workflow_runs" USING btree ("completed_at") WHERE "workflow_runs"."completion_published" = false and "workflow_runs"."completed_at" is not null;