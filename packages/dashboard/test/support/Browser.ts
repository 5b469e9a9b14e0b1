/**
 * Debian's Chromium, headless, driven by playwright-core: one browser per test file, pages made
 * from it. The dashboard is built first when its bundle is missing or older than its sources
 * (`npm test` has built it already through the bootstrap).
 */
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, readdirSync, statSync } from "node:fs"
import { join } from "node:path"
import { type Browser, chromium } from "playwright-core"

const dashboard = join(import.meta.dirname, "..", "..")

const newestSource = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((newest, entry) => {
    const path = join(dir, entry.name)
    return Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs)
  }, 0)

/** Builds the bundle unless it is newer than every source. */
export const ensureBuilt = (): void => {
  const index = join(dashboard, "dist", "index.html")
  const sources = Math.max(newestSource(join(dashboard, "src")), statSync(join(dashboard, "index.html")).mtimeMs)
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return
  execFileSync(process.execPath, [join(dashboard, "node_modules", "vite", "bin", "vite.js"), "build"], {
    cwd: dashboard,
    stdio: "inherit",
    // vitest sets NODE_ENV=test, which would build Preact's development bundle.
    env: { ...process.env, NODE_ENV: "production" },
  })
}

/** Where Debian's chromium is. */
export const chromiumPath = (): string => {
  const found = spawnSync("sh", ["-c", "command -v chromium"], { encoding: "utf8" }).stdout.trim()
  if (found === "") throw new Error("chromium is not installed (npm test's bootstrap installs it on Debian)")
  return found
}

/** A headless Chromium. */
export const launch = (): Promise<Browser> => {
  ensureBuilt()
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  })
}
