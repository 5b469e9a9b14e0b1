/** Outcomes per minute over the last hour (uPlot): succeeded, failed, dead-lettered. */
import { useEffect, useRef } from "preact/hooks"
import uPlot from "uplot"
import "uplot/dist/uPlot.min.css"
import type { MinuteOutcomes } from "./Types.js"

const series: Array<uPlot.Series> = [
  {},
  { label: "succeeded", stroke: "#2f9e44", fill: "rgba(47,158,68,0.12)", width: 1.5 },
  { label: "failed", stroke: "#e8590c", width: 1.5 },
  { label: "dead-lettered", stroke: "#c92a2a", width: 1.5 },
]

const dataOf = (minutes: ReadonlyArray<MinuteOutcomes>): uPlot.AlignedData => [
  minutes.map((m) => m.minute * 60),
  minutes.map((m) => m.succeeded),
  minutes.map((m) => m.failed),
  minutes.map((m) => m.deadLettered),
]

export const OutcomesChart = ({ minutes }: { readonly minutes: ReadonlyArray<MinuteOutcomes> }) => {
  const box = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | undefined>(undefined)
  useEffect(() => {
    const element = box.current
    if (element === null) return
    const width = () => Math.max(200, element.clientWidth)
    plot.current = new uPlot(
      {
        width: width(),
        height: 120,
        series,
        // The card says what the colours are: uPlot's legend would be taller than the chart.
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        axes: [{ size: 24, space: 70 }, { size: 36 }],
        scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      },
      dataOf(minutes),
      element,
    )
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: width(), height: 120 }))
    resize.observe(element)
    return () => {
      resize.disconnect()
      plot.current?.destroy()
      plot.current = undefined
    }
  }, [])
  useEffect(() => {
    plot.current?.setData(dataOf(minutes))
  }, [minutes])
  return (
    <>
      <div class="chart" ref={box} />
      <div class="legend">
        {series.slice(1).map((s) => (
          <span key={String(s.label)}>
            <i style={{ background: String(s.stroke) }} />
            {String(s.label)}
          </span>
        ))}
      </div>
    </>
  )
}
