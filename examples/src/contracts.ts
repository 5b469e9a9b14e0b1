/**
 * The example actors' contracts: what producers import. No handler code here.
 */
import { Actor } from "@eddy/core"
import { Schema } from "effect"

/** Parse a job posting from its HTML (as crawled) into structured fields. */
export const ParsePosting = Actor.define("parse-posting", {
  input: Schema.Struct({
    url: Schema.String,
    html: Schema.String.pipe(Schema.minLength(1)),
  }).annotations({
    examples: [
      {
        url: "https://jobs.example/1",
        html: '<h1 class="title">Data Analyst</h1><span class="company">Northwind</span><ul class="skills"><li>SQL</li></ul>',
      },
    ],
  }),
  output: Schema.Struct({
    title: Schema.String,
    company: Schema.String,
    location: Schema.optional(Schema.String),
    salary: Schema.optional(Schema.String),
    skills: Schema.Array(Schema.String),
  }),
  policy: { attempts: 3, backoff: Actor.fixed("500 millis"), timeout: "30 seconds", lease: "10 seconds" },
})

/** Extract e-mail addresses and phone numbers from a document's text. */
export const ExtractContacts = Actor.define("extract-contacts", {
  input: Schema.Struct({ documentId: Schema.String, text: Schema.String }).annotations({
    examples: [{ documentId: "doc-1", text: "Write to ada@example.org or call +44 20 7946 0958." }],
  }),
  output: Schema.Struct({ emails: Schema.Array(Schema.String), phones: Schema.Array(Schema.String) }),
  policy: { attempts: 3, backoff: Actor.fixed("500 millis"), lease: "10 seconds" },
})

/** Decide where an ingested file goes: bucket, storage tier and path. */
export const AllocateFile = Actor.define("allocate-file", {
  input: Schema.Struct({
    name: Schema.String.pipe(Schema.minLength(1)),
    sizeBytes: Schema.Int.pipe(Schema.nonNegative()),
    kind: Schema.Literal("document", "image", "archive", "video"),
  }).annotations({ examples: [{ name: "q3-report.pdf", sizeBytes: 482_113, kind: "document" }] }),
  output: Schema.Struct({ bucket: Schema.String, tier: Schema.Literal("hot", "warm", "cold"), path: Schema.String }),
  policy: { attempts: 4, backoff: Actor.fixed("400 millis"), lease: "10 seconds" },
})

export const all = [ParsePosting, ExtractContacts, AllocateFile]
export default all
