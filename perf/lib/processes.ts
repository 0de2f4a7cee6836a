import type { Subprocess } from "bun";
import { firstLine, freePort } from "../../shared/testing/ports.ts";

export { freePort };

const ROOT = new URL("../../", import.meta.url).pathname;

/** Starts a Bun script as a child process and waits until `readyUrl` answers 200. */
export async function startProcess(
  script: string,
  env: Record<string, string>,
  readyUrl: string,
  timeoutMs = 60_000,
  memoryCgroup?: string,
): Promise<Subprocess> {
  const profile = process.env.BENCH_CPU_PROFILE
    ? ["--cpu-prof-md", `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE}`]
    : [];
  const command = ["bun", ...profile, "run", script];
  // Joining the cgroup before exec charges every byte the process ever holds to it, start-up included.
  const argv = memoryCgroup
    ? ["sh", "-c", `echo $$ > ${memoryCgroup}/cgroup.procs && exec ${command.join(" ")}`]
    : command;
  const proc = Bun.spawn(argv, {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: "warn", ...env },
    stdout: "inherit",
    stderr: "inherit",
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${script} exited with ${proc.exitCode}`);
    try {
      if ((await fetch(readyUrl)).status === 200) return proc;
    } catch {}
    await Bun.sleep(200);
  }
  proc.kill();
  throw new Error(`${script} was not ready within ${timeoutMs} ms`);
}

export async function stopProcess(proc: Subprocess): Promise<void> {
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
  await proc.exited;
  clearTimeout(timer);
}

/** Resident memory of a process in MiB, from /proc. */
export async function rssMiB(pid: number): Promise<number> {
  const status = await Bun.file(`/proc/${pid}/status`).text();
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** Starts the Kafka mock cluster in a child process and returns its brokers. */
export async function startKafkaMockProcess(
  topicPrefix: string,
): Promise<{ proc: Subprocess; bootstrap: string; brokers: string[] }> {
  const proc = Bun.spawn(["bun", "run", "perf/lib/kafka-mock-server.ts"], {
    cwd: ROOT,
    env: { ...process.env, KAFKA_TOPIC_PREFIX: topicPrefix },
    stdout: "pipe",
    stderr: "inherit",
  });
  const info = JSON.parse(await firstLine(proc.stdout, "the Kafka mock process")) as {
    bootstrap: string;
    brokers: string[];
  };
  return { proc, ...info };
}
