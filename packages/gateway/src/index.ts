/**
 * @eddy/gateway — the HTTP API, the status views and the whole-system entry point.
 */
export * as Api from "./Api.js"
export * as ApiErrors from "./ApiErrors.js"
export * as Auth from "./Auth.js"
export * as BulkActions from "./BulkActions.js"
export * as Contracts from "./Contracts.js"
export * as DashboardAssets from "./DashboardAssets.js"
export * as Gateway from "./Gateway.js"
export * as Overview from "./Overview.js"
export * as Projection from "./Projection.js"
export * as PrometheusText from "./PrometheusText.js"
export * as QueueStats from "./QueueStats.js"
export * as Search from "./Search.js"
