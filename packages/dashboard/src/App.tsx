/**
 * The page's frame: the key prompt (when the gateway wants a key), the header with navigation,
 * search, Redis health and the gateway's version, a banner while the gateway or Redis is
 * unreachable, and the page the hash names. One overview stream feeds every page.
 */
import { useEffect, useState } from "preact/hooks"
import { type ApiError, apiKey, follow, get, onUnauthorized, setApiKey } from "./Client.js"
import { href } from "./Format.js"
import { ActorPage } from "./pages/ActorPage.js"
import { EventsPage } from "./pages/EventsPage.js"
import { FailedPage } from "./pages/FailedPage.js"
import { JobPage } from "./pages/JobPage.js"
import { OverviewPage } from "./pages/OverviewPage.js"
import { SearchPage } from "./pages/SearchPage.js"
import { WorkersPage } from "./pages/WorkersPage.js"
import type { Overview, Session } from "./Types.js"

/** What the signed-in key may do. */
export interface Can {
  readonly submit: boolean
  readonly admin: boolean
}

const useHash = (): string => {
  const [hash, setHash] = useState(location.hash)
  useEffect(() => {
    const changed = () => setHash(location.hash)
    addEventListener("hashchange", changed)
    return () => removeEventListener("hashchange", changed)
  }, [])
  return hash
}

const KeyPrompt = ({ onKey, rejected }: { readonly onKey: (key: string) => void; readonly rejected: boolean }) => {
  const [value, setValue] = useState("")
  return (
    <form
      class="key-prompt"
      onSubmit={(event) => {
        event.preventDefault()
        onKey(value.trim())
      }}
    >
      <h1>eddy</h1>
      <p>This gateway requires an API key. It is kept for this tab only.</p>
      {rejected && apiKey() !== undefined && (
        <p class="error" role="alert">
          The gateway refused that key.
        </p>
      )}
      <label>
        API key{" "}
        <input
          type="password"
          name="apiKey"
          autocomplete="off"
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
        />
      </label>
      <button type="submit">Sign in</button>
    </form>
  )
}

const Header = ({
  overview,
  live,
  onSignOut,
}: {
  overview: Overview | undefined
  live: boolean
  onSignOut?: () => void
}) => {
  const [query, setQuery] = useState("")
  return (
    <header>
      <a class="brand" href={href.overview}>
        eddy
      </a>
      <nav>
        <a href={href.overview}>Overview</a>
        <a href={href.failed}>Failed jobs</a>
        <a href={href.workers}>Workers</a>
        <a href={href.events}>Live events</a>
      </nav>
      <form
        class="search"
        onSubmit={(event) => {
          event.preventDefault()
          if (query.trim() !== "") location.hash = href.search(query.trim())
        }}
      >
        <input
          type="search"
          name="q"
          placeholder="job id, idempotency key, correlation id"
          value={query}
          onInput={(e) => setQuery(e.currentTarget.value)}
        />
      </form>
      <span class="health" data-testid="health">
        <span class={live ? "dot ok" : "dot down"} title={live ? "live" : "reconnecting"} />
        {overview === undefined
          ? "connecting…"
          : overview.redis.up
            ? `Redis ${overview.redis.ms ?? "?"} ms`
            : "Redis unreachable"}
        {overview !== undefined && <span class="version"> · gateway {overview.version}</span>}
      </span>
      {onSignOut !== undefined && (
        <button type="button" class="link" onClick={onSignOut}>
          Sign out
        </button>
      )}
    </header>
  )
}

const Page = ({ hash, overview, can }: { hash: string; overview: Overview | undefined; can: Can }) => {
  const parts = hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent)
  switch (parts[0]) {
    case "actors":
      return <ActorPage actor={parts[1] ?? ""} overview={overview} can={can} />
    case "jobs":
      return <JobPage jobId={parts[1] ?? ""} can={can} />
    case "search":
      return <SearchPage query={parts[1] ?? ""} />
    case "failed":
      return <FailedPage overview={overview} can={can} />
    case "workers":
      return <WorkersPage overview={overview} />
    case "events":
      return <EventsPage overview={overview} />
    default:
      return <OverviewPage overview={overview} />
  }
}

export const App = () => {
  const hash = useHash()
  const [session, setSession] = useState<Session | undefined>(undefined)
  const [needsKey, setNeedsKey] = useState(false)
  const [sessionError, setSessionError] = useState<ApiError | undefined>(undefined)
  const [attempt, setAttempt] = useState(0)
  const [overview, setOverview] = useState<Overview | undefined>(undefined)
  const [down, setDown] = useState<ApiError | undefined>(undefined)

  useEffect(() => onUnauthorized(() => setNeedsKey(true)), [])

  // Who am I: asks until the gateway answers (it may be down when the page opens).
  useEffect(() => {
    let stopped = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const ask = () =>
      get<Session>("/v1/session").then(
        (answer) => {
          if (stopped) return
          setSession(answer)
          setNeedsKey(false)
          setSessionError(undefined)
        },
        (error: ApiError) => {
          if (stopped) return
          if (error.status === 401) return setNeedsKey(true)
          setSessionError(error)
          timer = setTimeout(ask, 2_000)
        },
      )
    void ask()
    return () => {
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
    }
  }, [attempt])

  // The one live stream every page reads.
  useEffect(() => {
    if (session === undefined) return
    return follow(
      "/v1/overview",
      (type, data) => {
        if (type === "overview") {
          setOverview(JSON.parse(data) as Overview)
          setDown(undefined)
        }
      },
      (state) => setDown(state.kind === "down" ? state.error : undefined),
    )
  }, [session])

  if (needsKey)
    return (
      <KeyPrompt
        rejected={apiKey() !== undefined}
        onKey={(key) => {
          setApiKey(key)
          setNeedsKey(false)
          setSession(undefined)
          setAttempt((n) => n + 1)
        }}
      />
    )
  const can: Can = {
    submit: session?.scopes.includes("submit") === true || session?.scopes.includes("admin") === true,
    admin: session?.scopes.includes("admin") === true,
  }
  const problem =
    down !== undefined
      ? down.message
      : overview?.redis.up === false
        ? `Redis is unreachable: ${overview.redis.error}`
        : undefined
  return (
    <>
      <Header
        overview={overview}
        live={down === undefined && overview !== undefined}
        {...(session?.auth === "key"
          ? {
              onSignOut: () => {
                setApiKey(undefined)
                setNeedsKey(true)
              },
            }
          : {})}
      />
      {(problem ?? sessionError?.message) !== undefined && (
        <div class="banner" role="alert" data-testid="banner">
          {problem ?? sessionError?.message} It recovers by itself when it is back.
        </div>
      )}
      <main>
        {session === undefined ? <p>Connecting to the gateway…</p> : <Page hash={hash} overview={overview} can={can} />}
      </main>
    </>
  )
}
