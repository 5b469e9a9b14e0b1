/**
 * `internal/*` is closed in every package's exports map (as Effect's packages do): only the
 * modules a package means to publish resolve from outside it.
 */
import { spawnSync } from "node:child_process"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const here = import.meta.dirname

/** Resolves `specifier` as a module of the `test` package would, under the source condition. */
const resolve = (specifier: string) =>
  spawnSync(
    process.execPath,
    [
      "--conditions=@eddy/source",
      "--input-type=module",
      "-e",
      `try { console.log(import.meta.resolve(${JSON.stringify(specifier)})) } catch (e) { console.log(e.code) }`,
    ],
    { cwd: here, encoding: "utf8" },
  ).stdout.trim()

describe("exports maps", () => {
  it.each([
    ["@eddy/core", "internal/runScript"],
    ["@eddy/workers", "internal/Maintenance"],
    ["@eddy/gateway", "internal/RequestBody"],
  ])("%s/%s does not resolve, while the package's public modules do", (pkg, internal) => {
    expect(resolve(`${pkg}/${internal}`)).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED")
    expect(resolve(pkg)).toContain(join("packages", pkg.replace("@eddy/", ""), "src", "index.ts"))
  })
})
