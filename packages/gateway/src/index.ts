/**
 * @eddy/gateway — the HTTP API, the status projection and the whole-system entry point.
 */
export {}
