import type { TopicSpec } from "./interface.ts";

export const TOPICS = {
  events: "workflow.events",
  completions: "workflow.completions",
} as const;

export const dlqTopic = (topic: string) => `${topic}.dlq`;

export const TOPIC_SPECS: TopicSpec[] = [
  { topic: TOPICS.events, partitions: 3, replicationFactor: 2 },
  { topic: TOPICS.completions, partitions: 3, replicationFactor: 2 },
  { topic: dlqTopic(TOPICS.events), partitions: 1, replicationFactor: 2 },
  { topic: dlqTopic(TOPICS.completions), partitions: 1, replicationFactor: 2 },
];
