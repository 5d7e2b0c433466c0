import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { lang } from '../i18n/index.js';
import './time-chart.css';

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  /** A CSS variable of styles.css (`--accent`) or a colour; the first series defaults to the accent. */
  stroke?: string;
  /** Dashed, so series stay apart without relying on colour alone. */
  dash?: number[];
}

/**
 * Time series drawn with uPlot (only the chunks of the pages that show a chart carry it). uPlot
 * sizes its elements through the CSSOM (element.style), which the console's CSP (style-src
 * 'self') allows; the canvas is hidden from assistive technology, which reads the summary and the
 * table instead. One series (`values`, `label`, `unit`) or several (`series`).
 */
export function TimeChart(props: {
  times: number[];
  values?: (number | null)[];
  series?: ChartSeries[];
  /** The time range shown, in seconds: the whole range, however few readings fall in it. */
  from: number;
  to: number;
  label?: string;
  unit?: string;
  /** Draw a legend under the chart (several series). */
  legend?: boolean;
}) {
  const box = useRef<HTMLDivElement>(null);
  const lines: ChartSeries[] = props.series ?? [
    {
      label: props.unit ? `${props.label ?? ''} (${props.unit})` : (props.label ?? ''),
      values: props.values ?? [],
    },
  ];
  const key = JSON.stringify(lines);
  // The series are compared by content (key): a new array with the same values draws nothing new.
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const styles = getComputedStyle(document.documentElement);
    const colourOf = (stroke: string | undefined) =>
      stroke?.startsWith('--')
        ? styles.getPropertyValue(stroke).trim() || '#1d4ed8'
        : (stroke ?? (styles.getPropertyValue('--accent').trim() || '#1d4ed8'));
    const size = () => ({ width: Math.max(200, element.clientWidth), height: 260 });
    const plot = new uPlot(
      {
        ...size(),
        legend: { show: props.legend ?? false, live: false },
        cursor: { show: true },
        scales: { x: { time: true, range: () => [props.from, props.to] } },
        fmtDate: (template: string) => uPlot.fmtDate(template, lang === 'de' ? deNames : undefined),
        series: [
          {},
          ...lines.map((line) => ({
            label: line.label,
            stroke: colourOf(line.stroke),
            width: 2,
            dash: line.dash,
            spanGaps: false,
            points: { show: props.times.length < 60 },
          })),
        ],
        axes: [{ stroke: 'currentColor' }, { stroke: 'currentColor' }],
      },
      [props.times, ...lines.map((line) => line.values)],
      element,
    );
    const resize = new ResizeObserver(() => plot.setSize(size()));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [props.times, key, props.from, props.to, props.legend]);
  return <div class="chart-box" ref={box} aria-hidden="true" />;
}

const deNames = {
  MMMM: [
    'Januar',
    'Februar',
    'März',
    'April',
    'Mai',
    'Juni',
    'Juli',
    'August',
    'September',
    'Oktober',
    'November',
    'Dezember',
  ],
  MMM: ['Jan', 'Feb', 'Mär', 'Apr', 'Mai', 'Jun', 'Jul', 'Aug', 'Sep', 'Okt', 'Nov', 'Dez'],
  WWWW: ['Sonntag', 'Montag', 'Dienstag', 'Mittwoch', 'Donnerstag', 'Freitag', 'Samstag'],
  WWW: ['So', 'Mo', 'Di', 'Mi', 'Do', 'Fr', 'Sa'],
};
