/**
 * `--help` of every command and subcommand exits 0, and its usage line names exactly the
 * command's arguments and options, each of them described. Usage errors exit 2, and are told
 * without Redis (none is configured here): they never wait on a connection.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import { describe as explain, killAll, linesOf, plain, run, runAll } from "./support/Eddy.js"

const noRedis = mkdtempSync(join(tmpdir(), "eddy-cli-help-"))
// No EDDY_REDIS_URL, and a data directory where no `eddy start` runs.
const env = { EDDY_DATA_DIR: noRedis }

afterEach(killAll)
afterAll(() => rmSync(noRedis, { recursive: true, force: true }))

interface Expected {
  readonly args: ReadonlyArray<string>
  /** The options and arguments of the usage line, exactly. */
  readonly usage: ReadonlyArray<string>
  /** Words the description must contain. */
  readonly says: ReadonlyArray<string>
}

const commands: ReadonlyArray<Expected> = [
  { args: ["start"], usage: [], says: ["Run the whole system in one process"] },
  { args: ["worker"], usage: ["--concurrency", "<module>"], says: ["Run a worker", "array of handlers to host"] },
  { args: ["gateway"], usage: ["<module>"], says: ["HTTP gateway", "EDDY_HTTP_PORT", "array of contracts"] },
  {
    args: ["jobs"],
    usage: ["--state", "--limit", "--cursor", "--json", "<actor>"],
    says: ["List an actor's jobs in one state"],
  },
  { args: ["pause"], usage: ["--json", "<actor>"], says: ["Pause an actor"] },
  { args: ["resume"], usage: ["--json", "<actor>"], says: ["Resume a paused actor"] },
  {
    args: ["submit"],
    usage: ["--wait", "--timeout", "--lane", "--idempotency-key", "--contracts", "--json", "<actor>", "<json | @file>"],
    says: ["Submit a job", "wait for the result and print it", "the input as JSON, or @path"],
  },
  { args: ["status"], usage: ["--json", "<jobId>"], says: ["Show a job's status"] },
  { args: ["cancel"], usage: ["--json", "<jobId>"], says: ["Cancel a job"] },
  {
    args: ["tail"],
    usage: ["--actor", "--job", "--since", "--json"],
    says: ["Follow the event log live", "ISO 8601 or ms since the epoch"],
  },
  {
    args: ["replay"],
    usage: ["--actor", "--since", "--until", "--state", "--handlers", "--resubmit", "--json", "<jobId>"],
    says: ["timeline", "re-run recorded inputs through new handler code", "marked replayOf"],
  },
  { args: ["dlq"], usage: [], says: ["Inspect and steer dead letters", "list", "show", "retry", "purge"] },
  { args: ["dlq", "list"], usage: ["--actor", "--limit", "--json"], says: ["List dead letters"] },
  { args: ["dlq", "show"], usage: ["--json", "<jobId>"], says: ["Show a dead-lettered job"] },
  {
    args: ["dlq", "retry"],
    usage: ["--all", "--actor", "--json", "<jobId>"],
    says: ["back to their inbox with a fresh attempt budget"],
  },
  { args: ["dlq", "purge"], usage: ["--all", "--actor", "--json", "<jobId>"], says: ["Delete dead-lettered jobs"] },
  { args: ["queues"], usage: ["--json"], says: ["depth", "workers"] },
  { args: ["monitor"], usage: ["--interval"], says: ["live view", "milliseconds between refreshes"] },
  { args: ["clear"], usage: ["--yes", "--json", "<actor>"], says: ["Cancel every waiting job", "confirm"] },
  { args: ["projection"], usage: [], says: ["Manage the status projection", "rebuild"] },
  { args: ["projection", "rebuild"], usage: ["--json"], says: ["fold the retained event log into it again"] },
]

/** What @effect/cli says of any option or argument of a kind: not a description of this one. */
const generic = [
  /^A true or false value\.$/,
  /^A user-defined piece of text\.$/,
  /^An integer\.$/,
  /^A file\.$/,
  /^One of the following: /,
  /^This setting is optional\.$/,
]

/** The help's sections: a heading (unindented) and its indented lines. */
const sections = (help: string) => {
  const result = new Map<string, Array<string>>()
  let current: Array<string> | undefined
  for (const line of help.split("\n")) {
    if (line.trim() === "") continue
    if (!line.startsWith(" ")) {
      current = []
      result.set(line.trim(), current)
    } else current?.push(line.trim())
  }
  return result
}

describe("eddy --help", () => {
  it("lists every command with its options", async () => {
    const result = await run(["--help"], env)
    expect(result.code, explain(["--help"], result)).toBe(0)
    const help = plain(result.stdout)
    for (const { args } of commands) expect(help).toMatch(new RegExp(`^ {2}- ${args.join(" ")}( |$)`, "m"))
    for (const usage of ["submit [--wait]", "replay [--actor text]", "dlq retry [--all]", "monitor [--interval"])
      expect(help).toContain(usage)
  })

  it("of every command and subcommand exits 0 and names and describes its arguments and options", async () => {
    const results = await runAll(
      commands.map(
        ({ args }) =>
          () =>
            run([...args, "--help"], env),
      ),
    )
    commands.forEach(({ args, usage, says }, index) => {
      const result = results[index]!
      const context = explain([...args, "--help"], result)
      expect(result.code, context).toBe(0)
      const help = plain(result.stdout)
      const usageLine = linesOf(help).find((line) => line.startsWith("$ "))
      expect(usageLine, context).toBeDefined()
      // The usage line names the command and exactly its options and arguments.
      expect(usageLine, context).toMatch(new RegExp(`^\\$ ${args[args.length - 1]}( |$)`))
      const named = [...(usageLine ?? "").matchAll(/--[a-z-]+|<[^>]+>/g)].map((m) => m[0])
      expect(named, context).toEqual(usage)
      for (const words of says) expect(help, context).toContain(words)
      // Each of its own options and arguments has a description of its own.
      const bySection = sections(help)
      for (const name of usage) {
        const heading = [...bySection.keys()].find((key) => key === name || key.startsWith(`${name} `))
        expect(heading, `${context}\nno section for ${name}`).toBeDefined()
        const described = (bySection.get(heading ?? "") ?? []).filter((line) => !generic.some((g) => g.test(line)))
        expect(described.length, `${context}\n${name} has no description`).toBeGreaterThan(0)
      }
    })
  }, 180_000)
})

describe("usage errors", () => {
  it("exit 2, before any connection (no Redis is configured here)", async () => {
    const cases: ReadonlyArray<{ args: ReadonlyArray<string>; says: RegExp }> = [
      { args: ["bogus"], says: /Invalid subcommand for eddy/ },
      { args: ["status"], says: /Missing argument <jobId>/ },
      { args: ["submit", "extract-contacts"], says: /Missing argument <json \| @file>/ },
      { args: ["submit", "--lane", "urgent", "extract-contacts", "{}"], says: /high, normal, low|urgent/ },
      { args: ["clear", "allocate-file"], says: /^eddy: clear cancels every waiting job of allocate-file: add --yes/ },
      { args: ["dlq", "retry"], says: /^eddy: dlq retry needs a jobId or --all$/ },
      { args: ["replay"], says: /^eddy: give a jobId, or --actor, --since and --handlers/ },
    ]
    const results = await runAll(
      cases.map(
        ({ args }) =>
          () =>
            run(args, env),
      ),
    )
    cases.forEach(({ args, says }, index) => {
      const result = results[index]!
      const context = explain(args, result)
      expect(result.code, context).toBe(2)
      expect(result.stdout, context).toBe("")
      expect(plain(result.stderr).trim(), context).toMatch(says)
      expect(result.stderr, context).not.toContain("no Redis")
    })
  }, 120_000)
})
