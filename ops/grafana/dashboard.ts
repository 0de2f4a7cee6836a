/**
 * The Grafana dashboard, defined here and written to dashboards/omninode.json by
 * `bun run ops:dashboard`; a test keeps the two identical and checks every metric exists.
 * Rows follow the SLA document: system overview, service performance, infrastructure, resources.
 */

interface Panel {
  title: string;
  type: "timeseries" | "stat";
  unit: string;
  targets: { expr: string; legend: string }[];
  width?: number;
}

interface Row {
  title: string;
  panels: Panel[];
}

const API = 'route!~"/metrics|/health|/ready"';
const p95 = (metric: string, by = "le", filter = "") =>
  `histogram_quantile(0.95, sum by (${by}) (rate(${metric}_bucket${filter ? `{${filter}}` : ""}[5m])))`;
const p99 = (metric: string, by = "le", filter = "") =>
  `histogram_quantile(0.99, sum by (${by}) (rate(${metric}_bucket${filter ? `{${filter}}` : ""}[5m])))`;

function servicePanels(service: string, extra: Panel[]): Panel[] {
  const f = `service="${service}",${API}`;
  return [
    {
      title: `${service}: requests/s`,
      type: "timeseries",
      unit: "reqps",
      targets: [{ expr: `sum(rate(http_request_duration_seconds_count{${f}}[5m]))`, legend: "RPS" }],
    },
    {
      title: `${service}: P95 / P99`,
      type: "timeseries",
      unit: "s",
      targets: [
        { expr: p95("http_request_duration_seconds", "le", f), legend: "P95" },
        { expr: p99("http_request_duration_seconds", "le", f), legend: "P99" },
      ],
    },
    {
      title: `${service}: error rate`,
      type: "timeseries",
      unit: "percentunit",
      targets: [
        {
          expr: `sum(rate(http_request_duration_seconds_count{service="${service}",status=~"5.."}[5m])) / clamp_min(sum(rate(http_request_duration_seconds_count{${f}}[5m])), 1e-9)`,
          legend: "5xx ratio",
        },
      ],
    },
    ...extra,
  ];
}

export const rows: Row[] = [
  {
    title: "System overview",
    panels: [
      {
        title: "Service health",
        type: "stat",
        unit: "none",
        targets: [{ expr: 'up{job=~"hook-receiver|model-metrics|workflow-coordinator"}', legend: "{{job}}" }],
      },
      {
        title: "Total RPS across services",
        type: "timeseries",
        unit: "reqps",
        targets: [{ expr: `sum(rate(http_request_duration_seconds_count{${API}}[5m]))`, legend: "RPS" }],
      },
      {
        title: "Error rate",
        type: "timeseries",
        unit: "percentunit",
        targets: [
          {
            expr: `sum(rate(http_request_duration_seconds_count{status=~"5.."}[5m])) / clamp_min(sum(rate(http_request_duration_seconds_count{${API}}[5m])), 1e-9)`,
            legend: "5xx ratio",
          },
        ],
      },
      {
        title: "P95 response time by service",
        type: "timeseries",
        unit: "s",
        targets: [{ expr: p95("http_request_duration_seconds", "service, le", API), legend: "{{service}}" }],
      },
    ],
  },
  {
    title: "Service performance",
    panels: [
      ...servicePanels("hook-receiver", [
        {
          title: "hooks received by outcome",
          type: "timeseries",
          unit: "reqps",
          targets: [{ expr: "sum by (outcome) (rate(hooks_received_total[5m]))", legend: "{{outcome}}" }],
        },
        {
          title: "hook durability",
          type: "timeseries",
          unit: "none",
          targets: [
            { expr: "sum(hook_queue_depth)", legend: "queue depth" },
            { expr: "sum(hook_outbox_depth)", legend: "outbox depth" },
            { expr: "max(hook_kafka_circuit_state)", legend: "Kafka circuit (0 closed, 2 open)" },
          ],
        },
      ]),
      ...servicePanels("model-metrics", [
        {
          title: "inference P95 by model",
          type: "timeseries",
          unit: "s",
          targets: [{ expr: p95("model_inference_duration_seconds", "model, le"), legend: "{{model}}" }],
        },
        {
          title: "models in flight",
          type: "timeseries",
          unit: "none",
          targets: [{ expr: "sum by (model) (model_in_flight)", legend: "{{model}}" }],
        },
      ]),
      ...servicePanels("workflow-coordinator", [
        {
          title: "active workflows",
          type: "timeseries",
          unit: "none",
          targets: [{ expr: "sum(workflow_runs_active)", legend: "active" }],
        },
        {
          title: "workflow execution P95",
          type: "timeseries",
          unit: "s",
          targets: [{ expr: p95("workflow_run_duration_seconds"), legend: "P95" }],
        },
        {
          title: "workflow success rate",
          type: "timeseries",
          unit: "percentunit",
          targets: [
            {
              expr: 'sum(rate(workflow_runs_finished_total{status="completed"}[5m])) / clamp_min(sum(rate(workflow_runs_finished_total[5m])), 1e-9)',
              legend: "completed / finished",
            },
          ],
        },
      ]),
    ],
  },
  {
    title: "Infrastructure",
    panels: [
      {
        title: "Database: query P95 and QPS",
        type: "timeseries",
        unit: "s",
        targets: [
          { expr: p95("db_query_duration_seconds"), legend: "P95" },
          { expr: "sum(rate(db_query_duration_seconds_count[5m]))", legend: "queries/s" },
        ],
      },
      {
        title: "Database: pool connections",
        type: "timeseries",
        unit: "none",
        targets: [{ expr: "sum by (state) (db_pool_connections)", legend: "{{state}}" }],
      },
      {
        title: "Kafka: publish rate and P95",
        type: "timeseries",
        unit: "none",
        targets: [
          { expr: "sum(rate(bus_publish_batch_size_sum[5m]))", legend: "messages/s" },
          { expr: p95("bus_publish_duration_seconds"), legend: "publish P95 (s)" },
        ],
      },
      {
        title: "Kafka: consumer lag",
        type: "timeseries",
        unit: "none",
        targets: [{ expr: "sum by (group, topic) (bus_consumer_lag)", legend: "{{group}} {{topic}}" }],
      },
      {
        title: "Redis: hit rate and command P95",
        type: "timeseries",
        unit: "none",
        targets: [
          {
            expr: 'sum(rate(cache_hits_total{cache="redis"}[5m])) / clamp_min(sum(rate(cache_hits_total{cache="redis"}[5m])) + sum(rate(cache_misses_total{cache="redis"}[5m])), 1e-9)',
            legend: "hit rate",
          },
          { expr: p95("cache_command_duration_seconds", "le", 'cache="redis"'), legend: "command P95 (s)" },
        ],
      },
    ],
  },
  {
    title: "Resource utilization",
    panels: [
      {
        title: "CPU by service",
        type: "timeseries",
        unit: "percentunit",
        targets: [{ expr: "rate(process_cpu_seconds_total[5m])", legend: "{{job}}" }],
      },
      {
        title: "Memory by service",
        type: "timeseries",
        unit: "bytes",
        targets: [{ expr: "process_resident_memory_bytes", legend: "{{job}}" }],
      },
      {
        title: "Network I/O",
        type: "timeseries",
        unit: "Bps",
        targets: [
          { expr: "sum by (service) (rate(http_request_bytes_total[5m]))", legend: "HTTP in {{service}}" },
          { expr: "sum by (topic) (rate(bus_publish_bytes_total[5m]))", legend: "Kafka out {{topic}}" },
        ],
      },
      {
        title: "Storage I/O",
        type: "timeseries",
        unit: "Bps",
        targets: [
          { expr: "rate(process_io_read_bytes_total[5m])", legend: "read {{job}}" },
          { expr: "rate(process_io_write_bytes_total[5m])", legend: "write {{job}}" },
        ],
      },
    ],
  },
];

/** Every PromQL expression the dashboard uses, for the metric-existence test. */
export const expressions = rows.flatMap((r) => r.panels.flatMap((p) => p.targets.map((t) => t.expr)));

export function dashboardJson(): Record<string, unknown> {
  const panels: Record<string, unknown>[] = [];
  let id = 1;
  let y = 0;
  for (const row of rows) {
    panels.push({
      id: id++,
      type: "row",
      title: row.title,
      collapsed: false,
      gridPos: { h: 1, w: 24, x: 0, y },
      panels: [],
    });
    y += 1;
    let x = 0;
    for (const panel of row.panels) {
      const w = panel.width ?? 6;
      if (x + w > 24) {
        x = 0;
        y += 8;
      }
      panels.push({
        id: id++,
        type: panel.type,
        title: panel.title,
        datasource: { type: "prometheus", uid: "prometheus" },
        gridPos: { h: 8, w, x, y },
        fieldConfig: { defaults: { unit: panel.unit }, overrides: [] },
        targets: panel.targets.map((t, i) => ({
          refId: String.fromCharCode(65 + i),
          datasource: { type: "prometheus", uid: "prometheus" },
          expr: t.expr,
          legendFormat: t.legend,
        })),
      });
      x += w;
    }
    y += 8;
  }
  return {
    uid: "omninode-bridge",
    title: "OmniNode Bridge — SLA",
    tags: ["omninode", "sla"],
    timezone: "utc",
    schemaVersion: 39,
    version: 1,
    refresh: "30s",
    time: { from: "now-1h", to: "now" },
    panels,
  };
}

if (import.meta.main) {
  const path = new URL("./dashboards/omninode.json", import.meta.url).pathname;
  await Bun.write(path, `${JSON.stringify(dashboardJson(), null, 2)}\n`);
  console.log(path);
}
