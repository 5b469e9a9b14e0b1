/**
 * The demo workload `npm start` submits: job postings from the bundled HTML fixtures (one of
 * them broken: the poison input), documents to mine for contacts, and files to allocate (some
 * meet a busy storage node on their first try).
 */
import { readdirSync, readFileSync } from "node:fs"

const fixtures = new URL("../fixtures/", import.meta.url)

export interface Batch {
  readonly actor: string
  readonly jobs: ReadonlyArray<{ readonly input: unknown }>
}

const people = ["ada", "grace", "alan", "edsger", "barbara", "ken", "margaret", "linus"]
const kinds = ["document", "image", "archive", "video"] as const

/** `size` jobs per actor, plus the one poison posting. */
export const make = (size: number): ReadonlyArray<Batch> => {
  const files = readdirSync(fixtures).filter((name) => name.endsWith(".html"))
  const good = files.filter((name) => !name.startsWith("broken"))
  const postings = Array.from({ length: size }, (_, i) => {
    const name = good[i % good.length] as string
    return {
      input: { url: `https://jobs.example/${name}?n=${i}`, html: readFileSync(new URL(name, fixtures), "utf8") },
    }
  })
  const broken = files.find((name) => name.startsWith("broken"))
  if (broken !== undefined)
    postings.push({
      input: { url: `https://jobs.example/${broken}`, html: readFileSync(new URL(broken, fixtures), "utf8") },
    })
  const documents = Array.from({ length: size }, (_, i) => {
    const who = people[i % people.length] as string
    return {
      input: {
        documentId: `doc-${i}`,
        text: `Minutes of meeting ${i}. Follow up with ${who}@partner.example and ops-${i}@eddy.example, or phone +1 (555) 010-${String(1000 + i)}.`,
      },
    }
  })
  const ingested = Array.from({ length: size }, (_, i) => ({
    input: {
      name: `${people[i % people.length]}-upload-${i}.${["pdf", "png", "zip", "mp4"][i % 4]}`,
      sizeBytes: 1_000 * (i + 1) ** 3,
      kind: kinds[i % kinds.length] as string,
    },
  }))
  return [
    { actor: "parse-posting", jobs: postings },
    { actor: "extract-contacts", jobs: documents },
    { actor: "allocate-file", jobs: ingested },
  ]
}
