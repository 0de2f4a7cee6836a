import { setDefaultTimeout } from "bun:test";

process.env.LOG_LEVEL ??= "silent";
process.env.TZ = "UTC";
// Integration suites start real servers and a mock Kafka cluster.
setDefaultTimeout(30_000);
