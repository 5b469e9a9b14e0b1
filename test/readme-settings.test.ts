/**
 * The README's settings table names every `EDDY_*` variable the code reads: the sources of the
 * packages, the CLI's launcher, the scripts and the examples are searched for the names.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..")

/** Every file under `dir` whose name ends with one of `extensions`. */
const filesUnder = (dir: string, extensions: ReadonlyArray<string>): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (name === "node_modules" || name === "dist") return []
    if (statSync(path).isDirectory()) return filesUnder(path, extensions)
    return extensions.some((extension) => name.endsWith(extension)) ? [path] : []
  })

const sources = [
  ...readdirSync(join(root, "packages")).flatMap((pkg) => [
    ...filesUnder(join(root, "packages", pkg, "src"), [".ts", ".mjs", ".sh"]),
    ...filesUnder(join(root, "packages", pkg), [".mjs"]).filter((path) => path.includes("/bin/")),
  ]),
  ...filesUnder(join(root, "scripts"), [".mjs"]),
  ...filesUnder(join(root, "examples/src"), [".ts"]),
]

const variablesIn = (text: string) => new Set([...text.matchAll(/\bEDDY_[A-Z][A-Z0-9_]*\b/g)].map((m) => m[0]))

describe("README settings table", () => {
  it("names every EDDY_* variable the code reads", () => {
    const read = new Set(sources.flatMap((path) => [...variablesIn(readFileSync(path, "utf8"))]))
    // The search itself must work: these are read by core for certain.
    expect([...read]).toEqual(expect.arrayContaining(["EDDY_REDIS_URL", "EDDY_PREFIX", "EDDY_HTTP_PORT"]))
    const readme = readFileSync(join(root, "README.md"), "utf8")
    const table = readme.slice(readme.indexOf("## Configuration"))
    const rows = new Set(
      table
        .split("\n")
        .filter((line) => line.startsWith("| `EDDY_"))
        .map((line) => /`(EDDY_[A-Z0-9_]+)`/.exec(line)?.[1] ?? ""),
    )
    const missing = [...read].filter((name) => !rows.has(name)).sort()
    expect(missing).toEqual([])
  })
})
