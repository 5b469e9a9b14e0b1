/**
 * The example actors' implementations. Plain, dependency-free logic over bundled fixtures:
 * no network. `allocate-file` meets transient storage errors on first tries (to show retries);
 * a posting without a title can never parse (to show a dead letter).
 */
import { type Handler, Worker } from "@eddy/workers"
import { Effect } from "effect"
import { AllocateFile, ExtractContacts, ParsePosting } from "./contracts.js"

const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, " ")
    .replace(/\s+/g, " ")
    .trim()
const byClass = (html: string, name: string) => {
  const match = new RegExp(`<(\\w+)[^>]*class="${name}"[^>]*>([\\s\\S]*?)</\\1>`).exec(html)
  return match?.[2] === undefined ? undefined : text(match[2])
}

export const parsePosting: Handler.Any = Worker.handle(ParsePosting, ({ html }, ctx) =>
  Effect.gen(function* () {
    yield* ctx.progress(0.2, "reading the page")
    const title = byClass(html, "title")
    const company = byClass(html, "company")
    if (title === undefined || company === undefined)
      return yield* new Worker.NonRetryable({
        message: "the page has no posting title or company: it will never parse",
      })
    yield* Effect.sleep("150 millis") // the real thing would normalise, geocode, dedupe…
    yield* ctx.progress(0.7, "extracting skills")
    const skillsBlock = /<ul[^>]*class="skills"[^>]*>([\s\S]*?)<\/ul>/.exec(html)?.[1] ?? ""
    const skills = [...skillsBlock.matchAll(/<li>([\s\S]*?)<\/li>/g)].map((m) => text(m[1] ?? ""))
    const location = byClass(html, "location")
    const salary = byClass(html, "salary")
    return {
      title,
      company,
      skills,
      ...(location === undefined ? {} : { location }),
      ...(salary === undefined ? {} : { salary }),
    }
  }),
)

export const extractContacts: Handler.Any = Worker.handleAsync(ExtractContacts, async ({ text: body }, ctx) => {
  await ctx.progress(0.5)
  await new Promise((resolve) => setTimeout(resolve, 80))
  const emails = [...new Set(body.match(/[\w.+-]+@[\w-]+(\.[\w-]+)+/g) ?? [])]
  const phones = [...new Set((body.match(/\+?\d[\d ()-]{7,}\d/g) ?? []).map((p) => p.replace(/\s+/g, " ")))]
  return { emails, phones }
})

/** Storage that refuses a file's first write now and then: a transient fault worth retrying. */
class StorageBusy extends Error {
  override readonly name = "StorageBusy"
}

export const allocateFile: Handler.Any = Worker.handle(AllocateFile, ({ name, sizeBytes, kind }, ctx) =>
  Effect.gen(function* () {
    yield* Effect.sleep("60 millis")
    // About one file in three lands on a busy node at its first try (decided by its name, so reruns agree).
    const busy = [...name].reduce((sum, char) => sum + char.charCodeAt(0), 0) % 3 === 0
    if (ctx.attempt === 1 && busy)
      return yield* Effect.fail(new StorageBusy(`storage node busy while placing ${name}; try again`))
    const tier = kind === "archive" || sizeBytes > 500_000_000 ? "cold" : kind === "video" ? "warm" : "hot"
    const bucket = `ingest-${tier}`
    return { bucket, tier, path: `${kind}/${new Date().toISOString().slice(0, 10)}/${name}` } as const
  }),
)

export const all: ReadonlyArray<Handler.Any> = [parsePosting, extractContacts, allocateFile]
export default all
