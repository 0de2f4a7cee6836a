import { dlopen, FFIType } from "bun:ffi";

/**
 * librdkafka's in-process mock cluster, driven through bun:ffi. It refuses CreateTopics (create topics here),
 * reports controller id 0 (no idempotent kafkajs producer), and keeps about 5 MiB per partition, dropping
 * the oldest records. Control calls are synchronous: brokerDown with live client connections blocks the
 * JS thread for tens of milliseconds while the mock thread closes them.
 */
export interface KafkaMock {
  /** Comma-separated host:port list, as librdkafka reports it. */
  readonly bootstrap: string;
  readonly brokers: string[];
  createTopic(topic: string, partitions: number, replicationFactor?: number): void;
  /** Broker ids run from 1 to the broker count. */
  brokerDown(id: number): void;
  brokerUp(id: number): void;
  allDown(): void;
  allUp(): void;
  /** Delays every response of a broker, e.g. to stand for one that accepts connections but stalls. */
  setRtt(id: number, ms: number): void;
  /** The next `errors.length` requests of `apiKey` (e.g. 0 = Produce) fail with these error codes, in order. */
  pushRequestErrors(apiKey: number, errors: number[]): void;
  clearRequestErrors(apiKey: number): void;
  /** Safe to call more than once. */
  stop(): void;
}

export interface KafkaMockOptions {
  brokers?: number;
  topics?: { topic: string; partitions: number; replicationFactor?: number }[];
}

const LIBRARY = process.env.LIBRDKAFKA_PATH ?? "librdkafka.so.1";
const RD_KAFKA_PRODUCER = 0;
const ERRSTR_SIZE = 512;

const symbols = {
  rd_kafka_conf_new: { args: [], returns: FFIType.ptr },
  rd_kafka_conf_destroy: { args: [FFIType.ptr], returns: FFIType.void },
  rd_kafka_conf_set: {
    args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64],
    returns: FFIType.i32,
  },
  rd_kafka_new: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.ptr },
  rd_kafka_destroy: { args: [FFIType.ptr], returns: FFIType.void },
  rd_kafka_err2name: { args: [FFIType.i32], returns: FFIType.cstring },
  rd_kafka_mock_cluster_new: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.ptr },
  rd_kafka_mock_cluster_destroy: { args: [FFIType.ptr], returns: FFIType.void },
  rd_kafka_mock_cluster_bootstraps: { args: [FFIType.ptr], returns: FFIType.cstring },
  rd_kafka_mock_topic_create: {
    args: [FFIType.ptr, FFIType.ptr, FFIType.i32, FFIType.i32],
    returns: FFIType.i32,
  },
  rd_kafka_mock_broker_set_down: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  rd_kafka_mock_broker_set_up: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  rd_kafka_mock_broker_set_rtt: { args: [FFIType.ptr, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  rd_kafka_mock_push_request_errors_array: {
    args: [FFIType.ptr, FFIType.i16, FFIType.u64, FFIType.ptr],
    returns: FFIType.void,
  },
  rd_kafka_mock_clear_request_errors: { args: [FFIType.ptr, FFIType.i16], returns: FFIType.void },
} as const;

type Library = ReturnType<typeof dlopen<typeof symbols>>;
let library: Library | undefined;

function load(): Library {
  if (library) return library;
  try {
    library = dlopen(LIBRARY, symbols);
  } catch (error) {
    throw new Error(
      `cannot load ${LIBRARY} for the Kafka mock cluster (install Debian's librdkafka1 or set LIBRDKAFKA_PATH): ${
        (error as Error).message
      }`,
    );
  }
  return library;
}

/** librdkafka reads C strings, so every string crosses as an explicitly NUL-terminated buffer. */
function cString(value: string): Buffer {
  return Buffer.from(`${value}\0`, "utf8");
}

function errorText(errstr: Buffer): string {
  const end = errstr.indexOf(0);
  return errstr.toString("utf8", 0, end < 0 ? errstr.length : end);
}

export async function startKafkaMock(options: KafkaMockOptions = {}): Promise<KafkaMock> {
  const count = options.brokers ?? 3;
  if (!Number.isInteger(count) || count < 1) throw new Error(`broker count must be >= 1, got ${count}`);
  const lib = load().symbols;

  const errstr = Buffer.alloc(ERRSTR_SIZE);
  const conf = lib.rd_kafka_conf_new();
  // The handle only hosts the mock cluster's thread; keep librdkafka's own log to real errors.
  if (lib.rd_kafka_conf_set(conf, cString("log_level"), cString("3"), errstr, ERRSTR_SIZE) !== 0) {
    lib.rd_kafka_conf_destroy(conf);
    throw new Error(`rd_kafka_conf_set: ${errorText(errstr)}`);
  }
  const handle = lib.rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, ERRSTR_SIZE);
  if (!handle) {
    lib.rd_kafka_conf_destroy(conf);
    throw new Error(`rd_kafka_new: ${errorText(errstr)}`);
  }
  const cluster = lib.rd_kafka_mock_cluster_new(handle, count);
  if (!cluster) {
    lib.rd_kafka_destroy(handle);
    throw new Error("rd_kafka_mock_cluster_new failed");
  }

  let stopped = false;
  const live = () => {
    if (stopped) throw new Error("the Kafka mock cluster is stopped");
    return cluster;
  };
  const check = (what: string, code: number): void => {
    if (code !== 0) throw new Error(`${what}: ${String(lib.rd_kafka_err2name(code))} (${code})`);
  };
  const brokerId = (id: number): number => {
    if (!Number.isInteger(id) || id < 1 || id > count) {
      throw new Error(`broker id must be between 1 and ${count}, got ${id}`);
    }
    return id;
  };

  const bootstrap = String(lib.rd_kafka_mock_cluster_bootstraps(cluster));
  const mock: KafkaMock = {
    bootstrap,
    brokers: bootstrap.split(","),
    createTopic(topic, partitions, replicationFactor = 1) {
      check(
        `create topic ${topic}`,
        lib.rd_kafka_mock_topic_create(live(), cString(topic), partitions, replicationFactor),
      );
    },
    brokerDown(id) {
      check(`broker ${id} down`, lib.rd_kafka_mock_broker_set_down(live(), brokerId(id)));
    },
    brokerUp(id) {
      check(`broker ${id} up`, lib.rd_kafka_mock_broker_set_up(live(), brokerId(id)));
    },
    allDown() {
      for (let id = 1; id <= count; id++) mock.brokerDown(id);
    },
    allUp() {
      for (let id = 1; id <= count; id++) mock.brokerUp(id);
    },
    setRtt(id, ms) {
      check(`broker ${id} rtt`, lib.rd_kafka_mock_broker_set_rtt(live(), brokerId(id), ms));
    },
    pushRequestErrors(apiKey, errors) {
      if (errors.length === 0) return;
      const codes = Int32Array.from(errors);
      lib.rd_kafka_mock_push_request_errors_array(live(), apiKey, codes.length, codes);
    },
    clearRequestErrors(apiKey) {
      lib.rd_kafka_mock_clear_request_errors(live(), apiKey);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      lib.rd_kafka_mock_cluster_destroy(cluster);
      lib.rd_kafka_destroy(handle);
    },
  };

  try {
    for (const spec of options.topics ?? []) {
      mock.createTopic(spec.topic, spec.partitions, spec.replicationFactor);
    }
  } catch (error) {
    mock.stop();
    throw error;
  }
  return mock;
}
