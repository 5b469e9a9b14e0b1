/**
 * The dashboard in a real headless Chromium against a real gateway, projector and worker: the
 * overview follows jobs as they flow, a dead letter is retried from the failed-jobs panel and
 * succeeds, search finds a job by idempotency key, the job page's timeline is the job's events,
 * an actor is paused and resumed, and the page recovers by itself after the gateway restarts.
 * With EDDY_SCREENSHOTS=<dir>, the pages the README shows are captured on the way.
 */
import { join } from "node:path"
import { Redis } from "ioredis"
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import * as Chromium from "./support/Browser.js"
import { Actors, api, type System, start, until } from "./support/System.js"

let system: System
let browser: Browser
let page: Page

const shots = process.env.EDDY_SCREENSHOTS
const screenshot = async (name: string) => {
  if (shots !== undefined) await page.screenshot({ path: join(shots, `${name}.png`), fullPage: false })
}

/** The text of an actor card's stat on the overview. */
const stat = (actor: string, name: string) =>
  page.locator(`[data-actor="${actor}"] [data-stat="${name}"] .value`).textContent({ timeout: 10_000 })

const waitForStat = (actor: string, name: string, value: string) =>
  page.waitForFunction(
    ([a, n, v]) => document.querySelector(`[data-actor="${a}"] [data-stat="${n}"] .value`)?.textContent === v,
    [actor, name, value] as const,
    { timeout: 15_000 },
  )

type Submitted = { jobId: string }
type Status = { state: string }

beforeAll(async () => {
  ;[system, browser] = await Promise.all([start(), Chromium.launch()])
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await system?.stop()
})

describe("the dashboard", () => {
  it("shows every actor on the overview and updates as jobs flow", async () => {
    await page.goto(`${system.url}/`)
    expect(new URL(page.url()).pathname).toBe("/ui/")
    await page.locator('[data-actor="greet"]').waitFor()
    const names = await page
      .locator("[data-actor]")
      .evaluateAll((cards) => cards.map((c) => c.getAttribute("data-actor")))
    expect(names).toEqual(["anything", "greet", "order", "parked", "poison", "slow"])
    expect(await page.getByTestId("health").textContent()).toMatch(/Redis [\d.]+ ms · gateway \d+\.\d+\.\d+/)
    expect(await stat("greet", "succeeded")).toBe("0")

    await api(system, "POST", "/v1/actors/greet/jobs/batch", {
      jobs: Array.from({ length: 7 }, (_, i) => ({ input: { name: `n${i}` } })),
    })
    await api(system, "POST", "/v1/actors/parked/jobs/batch", { jobs: [{ input: { i: 1 } }, { input: { i: 2 } }] })
    await api(system, "POST", "/v1/actors/poison/jobs/batch", { jobs: [{ input: { n: 13 } }, { input: { n: 14 } }] })
    // Pushed by the overview stream: the page does not reload.
    await waitForStat("greet", "succeeded", "7")
    await waitForStat("parked", "depth", "2")
    await waitForStat("poison", "deadLettered", "2")
    expect(await stat("parked", "oldestWaiting")).toMatch(/\d+(\.\d)? (ms|s)/)
    await page.waitForFunction(() => document.querySelectorAll(".chart canvas").length >= 6)
    await screenshot("dashboard-overview")
    if (shots !== undefined) {
      await page.setViewportSize({ width: 390, height: 844 })
      await screenshot("phone-overview")
      await page.setViewportSize({ width: 1280, height: 800 })
    }
  })

  it("retries a dead-lettered job from the failed-jobs panel and sees it succeed", async () => {
    const { jobId } = await api<Submitted>(system, "POST", "/v1/actors/poison/jobs", { input: { n: 4242 } })
    await until(async () =>
      (await api<Status>(system, "GET", `/v1/jobs/${jobId}`)).state === "deadLettered" ? true : undefined,
    )
    await page.goto(`${system.url}/ui/#/failed`)
    const row = page.locator(`tr[data-job="${jobId}"]`)
    await row.waitFor({ timeout: 10_000 })
    expect(await row.textContent()).toContain("nonRetryable")
    expect(await row.textContent()).toContain("poison input 4242")
    await screenshot("dashboard-failed-jobs")

    Actors.healed.add(4242)
    await row.getByTestId("retry").click()
    await page.getByTestId("confirm").click()
    await until(async () =>
      (await api<Status>(system, "GET", `/v1/jobs/${jobId}`)).state === "succeeded" ? true : undefined,
    )
    // The row leaves the panel, and the job page says it succeeded.
    await row.waitFor({ state: "detached", timeout: 10_000 })
    await page.goto(`${system.url}/ui/#/jobs/${jobId}`)
    await page.waitForFunction(() => document.querySelector('[data-testid="job-state"]')?.textContent === "succeeded")
  })

  it("finds a job by its idempotency key", async () => {
    const { jobId } = await api<Submitted>(system, "POST", "/v1/actors/greet/jobs", {
      input: { name: "Grace" },
      idempotencyKey: "invoice-7781",
    })
    await page.goto(`${system.url}/ui/#/`)
    await page.locator('header input[name="q"]').fill("invoice-7781")
    await page.locator('header input[name="q"]').press("Enter")
    const results = page.getByTestId("search-results")
    await results.waitFor({ timeout: 10_000 })
    expect(await results.textContent()).toContain(jobId)
    expect(await results.textContent()).toContain("idempotencyKey")
    await results.getByRole("link", { name: jobId }).click()
    await page.waitForFunction((id) => document.querySelector("h1")?.textContent === id, jobId)
  })

  it("shows a job's timeline as its events, followed live until it ends", async () => {
    const { jobId } = await api<Submitted>(system, "POST", "/v1/actors/slow/jobs", { input: { ms: 1_500 } })
    await page.goto(`${system.url}/ui/#/jobs/${jobId}`)
    // The page may still show the job of the test before (a hash change keeps the page): wait for this one.
    await page.waitForFunction((id) => document.querySelector("h1")?.textContent === id, jobId)
    // Opened while it runs; the page follows it to the end without a reload.
    await page.waitForFunction(
      () => document.querySelector('[data-testid="job-state"]')?.textContent === "succeeded",
      null,
      {
        timeout: 15_000,
      },
    )
    await page.waitForFunction(
      () => document.querySelector('[data-testid="timeline"] li:last-child')?.getAttribute("data-type") === "succeeded",
    )
    const events = await api<Array<{ type: string }>>(system, "GET", `/v1/jobs/${jobId}/events`)
    const types = events.map((event) => event.type)
    // The timeline settles on exactly the job's events (it is rebuilt as they arrive).
    await page
      .waitForFunction(
        (expected) =>
          JSON.stringify(
            Array.from(document.querySelectorAll('[data-testid="timeline"] li'), (step) =>
              step.getAttribute("data-type"),
            ),
          ) === JSON.stringify(expected),
        types,
        { timeout: 10_000 },
      )
      .catch(() => undefined)
    const shown = await page
      .locator('[data-testid="timeline"] li')
      .evaluateAll((steps) => steps.map((step) => step.getAttribute("data-type")))
    expect(shown).toEqual(types)
    expect(shown).toEqual(["submitted", "started", "progress", "succeeded"])
    expect(await page.getByTestId("timeline").textContent()).toMatch(/waited .*ran \d/s)
    await screenshot("dashboard-job-timeline")
  })

  it("pauses and resumes an actor", async () => {
    await page.goto(`${system.url}/ui/#/actors/greet`)
    await page.getByTestId("pause").click()
    await page.getByTestId("confirm").click()
    await page.getByTestId("paused").waitFor({ timeout: 10_000 })
    // The overview shows it too (pushed).
    await page.goto(`${system.url}/ui/#/`)
    await page.locator('[data-actor="greet"] h2 .badge').getByText("paused").waitFor({ timeout: 10_000 })
    await page.goto(`${system.url}/ui/#/actors/greet`)
    const paused = await api<Array<{ name: string; paused?: boolean }>>(system, "GET", "/v1/actors")
    expect(paused.find((a) => a.name === "greet")?.paused).toBe(true)

    await page.getByTestId("resume").click()
    await page.getByTestId("confirm").click()
    await page.getByTestId("paused").waitFor({ state: "detached", timeout: 10_000 })
    const resumed = await api<Array<{ name: string; paused?: boolean }>>(system, "GET", "/v1/actors")
    expect(resumed.find((a) => a.name === "greet")?.paused).toBe(false)
    const { jobId } = await api<Submitted>(system, "POST", "/v1/actors/greet/jobs", { input: { name: "resumed" } })
    await until(async () =>
      (await api<Status>(system, "GET", `/v1/jobs/${jobId}`)).state === "succeeded" ? true : undefined,
    )
  })

  it("pages an actor's jobs by state, tails live events with a filter and a pause, and lists workers", async () => {
    await api(system, "POST", "/v1/actors/parked/jobs/batch", {
      jobs: Array.from({ length: 30 }, (_, i) => ({ input: { i: 100 + i } })),
    })
    await page.goto(`${system.url}/ui/#/actors/parked`)
    const rows = page.locator('[data-testid="job-list"] tbody tr')
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="job-list"] tbody tr').length === 25)
    const actors = await api<Array<{ name: string; counts: Record<string, number> }>>(system, "GET", "/v1/actors")
    const queued = actors.find((a) => a.name === "parked")?.counts.queued ?? 0
    expect(queued).toBeGreaterThanOrEqual(30)
    await page.getByRole("button", { name: "Older →" }).click()
    await page.waitForFunction(
      (n) => document.querySelectorAll('[data-testid="job-list"] tbody tr').length === n,
      Math.min(25, queued - 25),
    )
    expect(await rows.first().locator(".state").textContent()).toBe("queued")
    await page.getByRole("button", { name: "← Newer" }).click()
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="job-list"] tbody tr').length === 25)

    await page.goto(`${system.url}/ui/#/events`)
    await page.locator('select[name="type"]').selectOption("succeeded")
    const first = await api<Submitted>(system, "POST", "/v1/actors/greet/jobs", { input: { name: "tail one" } })
    const firstRow = page.locator('[data-testid="events"] tbody tr').filter({ hasText: first.jobId })
    await firstRow.waitFor({ timeout: 10_000 })
    const types = await page
      .locator('[data-testid="events"] tbody tr')
      .evaluateAll((trs) => [...new Set(trs.map((tr) => tr.getAttribute("data-type")))])
    expect(types).toEqual(["succeeded"])
    await page.getByTestId("tail-pause").click()
    const second = await api<Submitted>(system, "POST", "/v1/actors/greet/jobs", { input: { name: "tail two" } })
    await page.getByTestId("tail-pause").getByText("Resume (1 new)").waitFor({ timeout: 10_000 })
    expect(await page.locator('[data-testid="events"] tbody tr').filter({ hasText: second.jobId }).count()).toBe(0)
    await page.getByTestId("tail-pause").click()
    await page.locator('[data-testid="events"] tbody tr').filter({ hasText: second.jobId }).waitFor()

    // A worker whose heartbeat stopped 20 s ago (its record not yet expired) is marked stale.
    const now = Date.now()
    const redis = new Redis(TestRedis.url())
    await redis.hset(
      `${system.prefix}:workers`,
      "stuck-worker",
      JSON.stringify({
        id: "stuck-worker",
        host: "elsewhere",
        pid: 4242,
        actors: ["slow"],
        concurrency: 4,
        inFlight: 1,
        startedAt: now - 60_000,
        heartbeatAt: now - 20_000,
        expiresAt: now + 10_000,
      }),
    )
    await redis.quit()
    await page.goto(`${system.url}/ui/#/workers`)
    const live = page.locator("tr[data-worker]").filter({ hasText: "greet, slow, poison, order" })
    await live.waitFor()
    expect(await live.locator(".badge").textContent()).toBe("live")
    const stuck = page.locator('tr[data-worker="stuck-worker"]')
    await stuck.waitFor({ timeout: 10_000 })
    expect(await stuck.locator(".badge").textContent()).toBe("stale")
    expect(await stuck.textContent()).toContain("elsewhere")
  })

  it("says the gateway is unreachable while it is down, and recovers by itself", async () => {
    await page.goto(`${system.url}/ui/#/`)
    await page.locator('[data-actor="greet"]').waitFor()
    const before = Number(await stat("greet", "succeeded"))
    await system.stop()
    const banner = page.getByTestId("banner")
    await banner.waitFor({ timeout: 10_000 })
    expect(await banner.textContent()).toContain("unreachable")
    await system.start()
    await banner.waitFor({ state: "detached", timeout: 15_000 })
    await api(system, "POST", "/v1/actors/greet/jobs", { input: { name: "after the restart" } })
    await waitForStat("greet", "succeeded", String(before + 1))
  })
})
