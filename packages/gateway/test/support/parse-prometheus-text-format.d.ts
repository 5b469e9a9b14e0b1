/** The parser has no types of its own; it answers prom2json-style families. */
declare module "parse-prometheus-text-format" {
  const parse: (text: string) => Array<unknown>
  export default parse
}
