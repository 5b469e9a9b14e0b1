/**
 * Serves the dashboard (`@eddy/dashboard`'s built bundle) under `/ui`, and redirects `/` there.
 * Same origin as the API, so the page uses the same keys and needs no CORS; nothing is loaded
 * from elsewhere. Files are read when asked for (the bundle is a few files, and a rebuild while
 * the gateway runs is picked up); a missing bundle answers 503 saying how to build it.
 */
import { readFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { dirname, extname, join, normalize, sep } from "node:path"
import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, type Layer } from "effect"

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
}

/** Where the built bundle lives: `dist/` beside `@eddy/dashboard`'s package.json. */
export const bundleDir = (): string =>
  join(dirname(createRequire(import.meta.url).resolve("@eddy/dashboard/package.json")), "dist")

// The gateway's error shape, like every other answer.
const notBuilt = HttpServerResponse.unsafeJson(
  {
    error: {
      code: "dashboard_not_built",
      message: "The dashboard is not built: `npm start` builds it, or run `npx vite build` in packages/dashboard.",
    },
  },
  { status: 503 },
)
const notFound = HttpServerResponse.unsafeJson(
  { error: { code: "not_found", message: "no such file" } },
  { status: 404 },
)

/** The file under `dir` a `/ui/...` path names; `index.html` for the page itself. */
const fileFor = (dir: string, urlPath: string): string | undefined => {
  const rest = decodeURIComponent(urlPath.replace(/^\/ui\/?/, "").split("?")[0] ?? "")
  const file = normalize(join(dir, rest === "" ? "index.html" : rest))
  return file.startsWith(dir + sep) ? file : undefined
}

const serve = (dir: string) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    // `/ui` without the slash: the page's relative asset paths need it.
    if (request.url === "/ui") return HttpServerResponse.redirect("/ui/", { status: 302 })
    const file = fileFor(dir, request.url)
    if (file === undefined) return notFound
    const body = yield* Effect.tryPromise(() => readFile(file)).pipe(Effect.option)
    if (body._tag === "None") {
      const index = yield* Effect.tryPromise(() => readFile(join(dir, "index.html"))).pipe(Effect.option)
      return index._tag === "None" ? notBuilt : notFound
    }
    const immutable = file.includes(`${sep}assets${sep}`)
    return HttpServerResponse.uint8Array(body.value, {
      contentType: contentTypes[extname(file)] ?? "application/octet-stream",
      // Hashed asset names never change content; the page itself is always asked again.
      headers: { "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache" },
    })
  })

/** The `/ui` routes and the `/` redirect. */
export const layer = (dir: string = bundleDir()): Layer.Layer<never> =>
  HttpApiBuilder.Router.use((router) =>
    Effect.all([
      router.get("/", Effect.succeed(HttpServerResponse.redirect("/ui/", { status: 302 }))),
      router.get("/ui", serve(dir)),
      router.get("/ui/*", serve(dir)),
    ]),
  )
