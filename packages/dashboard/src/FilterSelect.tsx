/** A toolbar filter: a labelled select whose first option, "all", is the empty value. */
export const FilterSelect = (props: {
  readonly name: string
  readonly options: ReadonlyArray<string>
  readonly value: string
  readonly onChange: (value: string) => void
}) => (
  <label>
    {props.name}{" "}
    <select name={props.name} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
      <option value="">all</option>
      {props.options.map((option) => (
        <option key={option} value={option}>
          {option}
        </option>
      ))}
    </select>
  </label>
)
