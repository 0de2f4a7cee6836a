import { TOPIC_SPECS } from "../../shared/bus/topics.ts";
import { startKafkaMock } from "../../shared/testing/kafka-mock.ts";

// The mock cluster in a process of its own, so its broker threads do not share the load generator's CPU.
const prefix = process.env.KAFKA_TOPIC_PREFIX ?? "";
const mock = await startKafkaMock({
  brokers: Number(process.env.MOCK_BROKERS ?? 3),
  topics: TOPIC_SPECS.map((t) => ({ topic: prefix + t.topic, partitions: t.partitions })),
});
console.log(JSON.stringify({ bootstrap: mock.bootstrap, brokers: mock.brokers }));
const stop = () => {
  mock.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
setInterval(() => {}, 60_000);
