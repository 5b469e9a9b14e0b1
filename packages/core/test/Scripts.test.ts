import { readdirSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import type { Redis } from "ioredis"
import * as Scripts from "../src/Scripts.js"

const luaDir = new URL("../src/internal/lua/", import.meta.url)
const prelude = Scripts.prelude

/** Lua code without `--` comments, so a header that names KEYS is not counted as a read. */
const code = (lua: string) =>
  lua
    .split("\n")
    .map((line) => line.replace(/--.*$/, ""))
    .join("\n")

const keyReads = (lua: string) => [...code(lua).matchAll(/KEYS\s*\[\s*(\d+)\s*\]/g)].map((m) => Number(m[1]))

/** The keys a script's header lists (`-- KEYS: 1 jobs, 2 events, …`). */
const headerKeys = (lua: string) => {
  const line = lua.split("\n").find((l) => l.startsWith("-- KEYS:"))
  return line === undefined ? [] : [...line.matchAll(/(\d+) [a-z]/g)].map((m) => Number(m[1]))
}

describe("Scripts", () => {
  it.each(Scripts.all.map((script) => [script.name, script] as const))(
    "%s reads exactly its declared KEYS",
    (_, script) => {
      const reads = keyReads(script.body)
      expect(Math.max(...reads)).toBe(script.keys)
      // Every declared key is used, so the count is not padded either.
      expect(new Set(reads)).toEqual(new Set(Array.from({ length: script.keys }, (_, i) => i + 1)))
    },
  )

  it.each(Scripts.all.map((script) => [script.name, script] as const))(
    "%s header lists its declared keys",
    (_, script) => {
      expect(headerKeys(script.body)).toEqual(Array.from({ length: script.keys }, (_, i) => i + 1))
      expect(script.body).toMatch(/^-- ARGV:/m)
      expect(script.body).toMatch(/^-- Returns:/m)
    },
  )

  it.each(Scripts.all.map((script) => [script.name, script] as const))(
    "%s names its KEYS in its descriptor as its header does, in order",
    (_, script) => {
      const line = script.body.split("\n").find((l) => l.startsWith("-- KEYS:")) ?? ""
      const named = [...line.matchAll(/(\d+) ([a-zA-Z ]+?)(?=,|$| \()/g)].map((m) =>
        (m[2] as string).replaceAll(" ", "").toLowerCase(),
      )
      expect(named).toEqual(script.keyNames.map((name) => name.toLowerCase()))
    },
  )

  it("run puts named keys and arguments in the order the script reads them", async () => {
    const calls: Array<ReadonlyArray<unknown>> = []
    const connection = {
      fcall: async (...args: ReadonlyArray<unknown>) => {
        calls.push(args)
        return [1]
      },
    } as unknown as Redis
    await Scripts.run(connection, Scripts.listPage, { keys: { list: "L" }, args: { limit: 3, after: "b", score: 7 } })
    expect(calls[0]).toEqual([Scripts.library.functionName("list-page"), 1, "L", 7, "b", 3])
    await Scripts.run(connection, Scripts.renew, {
      keys: { inbox: "I", jobs: "J" },
      args: { consumer: "c1", group: "g" },
      moreArgs: ["1-0", "j1"],
    })
    expect(calls[1]).toEqual([Scripts.library.functionName("renew"), 2, "J", "I", "g", "c1", "1-0", "j1"])
    await expect(
      Scripts.run(connection, Scripts.listPage, {
        keys: { list: "L" },
        args: { limit: 3, after: "", score: "" },
        moreArgs: [1],
      }),
    ).rejects.toThrow("list-page.lua takes no more than its named keys and arguments")
  })

  it("the prelude is every file of lib/, each once", () => {
    const files = readdirSync(new URL("lib/", luaDir)).filter((f) => f.endsWith(".lua"))
    expect([...Scripts.preludeFiles].map((f) => `${f}.lua`).sort()).toEqual(files.sort())
  })

  it("the prelude reads no KEYS", () => {
    expect(keyReads(prelude)).toEqual([])
    expect(code(prelude)).not.toMatch(/KEYS/)
  })

  it("no script builds a key", () => {
    // Keys come only from KEYS: no script names a partition tag or the key layout itself.
    expect(code(Scripts.library.source)).not.toMatch(/\{p|:inbox|:jobs|:events|:dead/)
  })

  it("the library holds the prelude once and every script as a function of its own", () => {
    const source = Scripts.library.source
    expect(source.startsWith(`#!lua name=${Scripts.library.name}\n${prelude}`)).toBe(true)
    expect(Scripts.library.name).toMatch(/^eddy_[0-9a-f]{16}$/)
    for (const script of Scripts.all) {
      expect(source).toContain(script.body)
      expect(source).toContain(`function_name = '${Scripts.library.functionName(script.name)}'`)
    }
    expect(new Set(Scripts.all.map((s) => Scripts.library.functionName(s.name))).size).toBe(Scripts.all.length)
    // Only the readers may run when Redis is over its memory limit.
    expect(Scripts.all.filter((s) => s.readOnly).map((s) => s.name)).toEqual(["list-page", "list-size"])
  })

  it("every Lua file but the prelude has a descriptor", () => {
    const files = readdirSync(luaDir)
      .filter((f) => f.endsWith(".lua"))
      .map((f) => f.replace(/\.lua$/, ""))
    expect(Scripts.all.map((s) => s.name).sort()).toEqual(files.sort())
  })
})
