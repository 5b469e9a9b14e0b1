/**
 * Redis CPU per job of the lifecycle scripts alone, without a worker: a private redis-server
 * (no persistence), 20,000 jobs of the benchmark's ~100-byte payload submitted with
 * `submit-many`, claimed 50 at a time with `claim`, completed 50 at a time with `complete-many`
 * (and, separately, the same with `complete-many` claiming the next batch in the call).
 * Per phase: redis-server's CPU and the scripts' own time from `INFO commandstats` (EVALSHA, wall
 * time: it counts waits for a core too), in µs per job, the least of `rounds` runs. Run:
 * `node --conditions=@eddy/source --import tsx bench/src/scriptCost.ts [jobs] [rounds]`.
 * With `SCRIPT_COST_CALLGRIND=<dir>`, redis-server runs under valgrind's callgrind and each phase
 * also reports the instructions redis-server executed per job: a count other processes on the
 * machine do not move (CPU time on a shared machine moved by up to 50 % between rounds). Each
 * phase's profile is dumped to `<dir>` for `callgrind_annotate`. Use a few thousand jobs: the
 * server runs ~50× slower.
 * A measuring tool for docs/benchmarks.md, not part of `npm run bench`.
 */
import { execFileSync, spawn } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { createServer } from "node:net"
import { join } from "node:path"
import { Deliveries, JobStore, RedisClient, Settings } from "@eddy/core"
import { Effect, Layer, Redacted } from "effect"
import { Redis } from "ioredis"
import { payload } from "./workload.js"

const jobs = Number(process.argv[2] ?? 20_000)
// The machine is shared: each phase runs this many times, and the least CPU is reported.
const rounds = Number(process.argv[3] ?? 3)
const actor = "cost"
const batch = 50

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

const infoNumber = (info: string, field: string) => Number(new RegExp(`${field}:([\\d.]+)`).exec(info)?.[1] ?? 0)

/** Script time (commandstats usec of FCALL) and server CPU, in µs, since the last reset. */
const sample = async (probe: Redis) => {
  const stats = await probe.info("commandstats")
  const cpu = await probe.info("cpu")
  const usec = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+),usec=(\\d+)`).exec(stats)?.[2] ?? 0)
  const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0)
  // Commands a script calls are counted under their own names too: where a script's time goes.
  const inner: Record<string, number> = {}
  for (const m of stats.matchAll(/cmdstat_(\w+):calls=\d+,usec=(\d+)/g))
    if (!["fcall", "function", "info", "config"].includes(m[1] as string)) inner[m[1] as string] = Number(m[2])
  return {
    inner,
    scriptUs: usec("fcall"),
    calls: calls("fcall"),
    cpuUs: (infoNumber(cpu, "used_cpu_user") + infoNumber(cpu, "used_cpu_sys")) * 1e6,
  }
}

const print = (line: string) => process.stdout.write(`${line}\n`)

const callgrindDir = process.env.SCRIPT_COST_CALLGRIND

/** Instructions redis-server executed since the last call (each call dumps the counts and zeroes them). */
const instructions = (pid: number, phase: string): number => {
  execFileSync("callgrind_control", [`--dump=${phase}`, String(pid)], { stdio: "ignore" })
  const dir = callgrindDir as string
  const newest = readdirSync(dir)
    .filter((name) => name.startsWith(`callgrind.out.${pid}.`))
    .sort((a, b) => Number(a.split(".").pop()) - Number(b.split(".").pop()))
    .pop()
  if (newest === undefined) return 0
  return Number(/^(?:summary|totals): (\d+)/m.exec(readFileSync(join(dir, newest), "utf8"))?.[1] ?? 0)
}

const main = async () => {
  const port = await freePort()
  const serverArgs = ["--port", String(port), "--save", "", "--appendonly", "no"]
  const server =
    callgrindDir === undefined
      ? spawn("redis-server", serverArgs, { stdio: "ignore" })
      : spawn(
          "valgrind",
          [
            "--tool=callgrind",
            `--callgrind-out-file=${join(callgrindDir, "callgrind.out.%p")}`,
            "redis-server",
            ...serverArgs,
          ],
          { stdio: "ignore" },
        )
  const url = `redis://127.0.0.1:${port}`
  const probe = new Redis(url, { lazyConnect: false })
  for (let i = 0; i < 100; i++) {
    try {
      await probe.ping()
      break
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  const rows = new Map<
    string,
    { phase: string; inner: string; scriptUsPerJob: number; cpuUsPerJob: number; calls: number; kInstrPerJob: number }
  >()
  for (let round = 0; round < rounds; round++) {
    await probe.flushall()
    const layer = Layer.merge(
      RedisClient.layer({ url: Redacted.make(url), timeout: "10 seconds" }),
      Settings.layer({ prefix: `eddy${round}` }),
    )
    const measure = async <A>(
      phase: string,
      effect: Effect.Effect<A, unknown, RedisClient.RedisClient | Settings.Settings>,
    ) => {
      await probe.config("RESETSTAT")
      const cpuBefore = (await sample(probe)).cpuUs
      if (callgrindDir !== undefined) instructions(server.pid as number, "before")
      const result = await Effect.runPromise(Effect.provide(effect, layer))
      const counted = callgrindDir === undefined ? 0 : instructions(server.pid as number, phase.split(" ")[0] as string)
      const after = await sample(probe)
      const row = {
        phase,
        inner: Object.entries(after.inner)
          .sort(([, a], [, b]) => b - a)
          .slice(0, 6)
          .map(([name, us]) => `${name} ${(us / jobs).toFixed(1)}`)
          .join(", "),
        scriptUsPerJob: after.scriptUs / jobs,
        cpuUsPerJob: (after.cpuUs - cpuBefore) / jobs,
        calls: after.calls,
        kInstrPerJob: counted / jobs / 1000,
      }
      const best = rows.get(phase)
      if (best === undefined || row.cpuUsPerJob < best.cpuUsPerJob) rows.set(phase, row)
      return result
    }
    const requests = (from: number) =>
      Array.from({ length: jobs }, (_, i) => ({
        jobId: `job-${from + i}`,
        actor,
        lane: "normal" as const,
        input: JSON.stringify(payload(i)),
        maxAttempts: 3,
        delayMs: 0,
      }))
    const groups = Effect.forEach(["high", "normal", "low"] as const, (lane) => Deliveries.ensureGroup(0, actor, lane))
    await Effect.runPromise(Effect.provide(groups, layer))
    const output = JSON.stringify({ startedAt: Date.now() })

    // Round 1: submit, claim, complete, each alone.
    await measure("submit-many (200 per call)", JobStore.submitMany(requests(0)))
    const claimed = await measure(
      `claim (${batch} per call)`,
      Effect.gen(function* () {
        const all: Array<Deliveries.Delivery> = []
        for (;;) {
          const got = yield* Deliveries.claim(0, actor, "c1", batch)
          if (got.length === 0) return all
          all.push(...got.map((c) => c.delivery))
        }
      }),
    )
    await measure(
      `complete-many (${batch} per call)`,
      Effect.forEach(
        Array.from({ length: Math.ceil(claimed.length / batch) }, (_, i) => claimed.slice(i * batch, (i + 1) * batch)),
        (chunk) =>
          Deliveries.completeMany(
            chunk.map((delivery) => ({ delivery, output })),
            "c1",
          ),
        { concurrency: 4, discard: true },
      ),
    )

    // Round 2: claim, then complete-many that claims the next batch in the same call.
    await Effect.runPromise(Effect.provide(JobStore.submitMany(requests(jobs)), layer))
    await measure(
      `claim + complete-many claiming the next (${batch})`,
      Effect.gen(function* () {
        let held = (yield* Deliveries.claim(0, actor, "c1", batch)).map((c) => c.delivery)
        while (held.length > 0) {
          const done = yield* Deliveries.completeAndClaim(
            held.map((delivery) => ({ delivery, output })),
            "c1",
            batch,
          )
          held = done.claimed.map((c) => c.delivery)
        }
      }),
    )
  }
  const memory = infoNumber(await probe.info("memory"), "used_memory")
  const retained = jobs * 2
  print(`jobs per phase: ${jobs}; used_memory after ${retained} retained jobs: ${(memory / retained).toFixed(0)} B/job`)
  print(
    "| phase | redis-server CPU µs/job | script µs/job (commandstats) | calls | inside the scripts, µs/job | k instructions/job |",
  )
  print("| --- | ---: | ---: | ---: | --- | ---: |")
  for (const row of rows.values())
    print(
      `| ${row.phase} | ${row.cpuUsPerJob.toFixed(1)} | ${row.scriptUsPerJob.toFixed(1)} | ${row.calls} | ${row.inner} | ${row.kInstrPerJob.toFixed(1)} |`,
    )
  await probe.quit()
  server.kill("SIGTERM")
}

void main()
