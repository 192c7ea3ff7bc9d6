/**
 * The datastore page's capacity chart: used and total MB over the chosen range from the history API, drawn with
 * uPlot, and the forecast as a dashed line to the fill date (or in words when that is far beyond the range). The
 * range links work without JavaScript; here they re-fetch and redraw in place, the address kept in step. What the
 * chart shows is written on it for anyone to check: data-points (the used points the API gave), data-from/-to,
 * data-bucket-seconds (when the API averaged a long series into buckets). Each series is asked for CHART_POINTS
 * points at most: a 1 s monitor over a day is 86,400 samples, more than a chart of a thousand pixels can show.
 */
import uPlot from 'uplot';
import { axisLabel, axisUnit, chartData, inUnit, withTotals, type Forecast, type Point } from './chart-data.js';

interface History {
  ok: boolean;
  result?: Series;
  error?: { message: string };
}

interface Series {
  points: Point[];
  /** The buckets' width when the API bucketed the series; null when these are its own points. */
  bucketSeconds: number | null;
  seriesPoints: number;
}

/** The most points asked for a series. */
const CHART_POINTS = 2000;

const root = document.getElementById('capacity-chart');
if (root !== null) setUp(root);

function setUp(root: HTMLElement): void {
  const status = document.getElementById('chart-status');
  const links = Array.from(document.querySelectorAll<HTMLAnchorElement>('nav.ranges a[data-range]'));
  const fullAt = Date.parse(root.dataset.fullAt ?? '');
  const growth = Number(root.dataset.growthMbPerDay);
  const forecast: Forecast | null = Number.isFinite(fullAt) && growth > 0 ? { fullAt, growthMbPerDay: growth } : null;
  let plot: uPlot | undefined;
  let request = 0;

  const say = (text: string): void => {
    if (status !== null) status.textContent = text;
  };

  async function series(attribute: string, from: number, to: number): Promise<Series> {
    const query = new URLSearchParams({ attribute, from: new Date(from).toISOString(), to: new Date(to).toISOString(), points: String(CHART_POINTS) });
    const response = await fetch(`/api/v1/datastores/${encodeURIComponent(root.dataset.datastore ?? '')}/history?${query}`, { headers: { accept: 'application/json' } });
    const body = (await response.json()) as History;
    if (!body.ok || body.result === undefined) throw new Error(body.error?.message ?? `HTTP ${response.status}`);
    return body.result;
  }

  async function draw(range: string, spanMs: number): Promise<void> {
    const mine = ++request;
    const to = Date.now();
    const from = to - spanMs;
    root.dataset.state = 'loading';
    say('Loading…');
    let usedSeries: Series;
    let totalSeries: Series;
    try {
      [usedSeries, totalSeries] = await Promise.all([series('used_mb', from, to), series('total_mb', from, to)]);
    } catch (error) {
      if (mine !== request) return;
      root.dataset.state = 'error';
      say(`The history could not be read: ${(error as Error).message}`);
      return;
    }
    if (mine !== request) return;
    const used = usedSeries.points;
    const total = totalSeries.points;
    const bucketSeconds = usedSeries.bucketSeconds;
    const data = chartData(used, total, from, to, forecast, (bucketSeconds ?? 0) * 1000);
    const unit = axisUnit(data.yMax);
    plot?.destroy();
    plot = new uPlot(
      {
        width: Math.max(320, root.clientWidth),
        height: 300,
        series: [
          {},
          { label: `Used ${unit.unit}`, stroke: '#2563eb', fill: 'rgba(37, 99, 235, 0.08)', width: 2 },
          { label: `Total ${unit.unit}`, stroke: '#6b7585', width: 1.5 },
          ...(data.forecast === 'line' ? [{ label: `Forecast ${unit.unit}`, stroke: '#b3261e', width: 1.5, dash: [6, 4], spanGaps: true }] : []),
        ],
        scales: { x: { time: true, range: [data.xMin, data.xMax] }, y: { range: [0, data.yMax / unit.mbPer] } },
        axes: [{}, { size: 90, values: (_plot: uPlot, splits: number[]) => splits.map((value) => axisLabel(value * unit.mbPer, unit)) }],
      },
      inUnit(data.forecast === 'line' ? data.columns : data.columns.slice(0, 3), unit.mbPer) as uPlot.AlignedData,
      root,
    );
    Object.assign(root.dataset, { state: 'drawn', range, points: String(used.length), totalPoints: String(total.length), bucketSeconds: String(bucketSeconds ?? ''), from: new Date(from).toISOString(), to: new Date(to).toISOString(), forecast: data.forecast });
    const kinds =
      bucketSeconds !== null
        ? `, each the average of ${duration(bucketSeconds)} (${usedSeries.seriesPoints.toLocaleString('en')} in the series)`
        : data.hourlyUntil === null
          ? ''
          : `; hourly averages before ${new Date(data.hourlyUntil).toISOString().slice(0, 16).replace('T', ' ')} UTC, samples after`;
    const full = forecast === null ? '' : ` · ${root.dataset.fullText ?? ''}${data.forecast === 'label' ? ' (beyond this range)' : ''}`;
    say(used.length === 0 ? 'No samples in this range.' : `${used.length} points${kinds}${full}`);
    samplesTable(used, total, bucketSeconds);
  }

  /** The table under the chart follows the range shown: up to 24 rows picked evenly, as the server renders them. */
  function samplesTable(used: Point[], total: Point[], bucketSeconds: number | null): void {
    const body = document.getElementById('samples-rows');
    const count = document.getElementById('samples-count');
    if (body === null) return;
    const rows = withTotals(used, total);
    const picked = rows.length <= 24 ? rows : Array.from({ length: 24 }, (_, i) => rows[Math.round((i * (rows.length - 1)) / 23)]!);
    const mb = (value: number | null): string => (value === null ? '-' : `${(Math.round(value * 10) / 10).toLocaleString('en')} MB`);
    body.replaceChildren(
      ...picked.map(({ point, totalMb }) => {
        const row = document.createElement('tr');
        for (const text of [new Date(point.at).toISOString(), mb(point.value), mb(totalMb), point.kind === 'hour' ? `hourly average of ${point.count}` : point.kind === 'bucket' ? `average of ${point.count} over ${duration(bucketSeconds ?? 0)}` : 'sample']) {
          row.appendChild(document.createElement('td')).textContent = text;
        }
        return row;
      }),
    );
    if (count !== null) count.textContent = `${picked.length} of ${used.length}`;
    const summary = body.closest('details')?.querySelector('summary');
    const label = links.find((link) => link.dataset.range === root.dataset.range)?.textContent;
    if (summary?.firstChild && label) summary.firstChild.textContent = `Samples of the last ${label}: `;
  }

  for (const link of links) {
    link.addEventListener('click', (event) => {
      if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      for (const other of links) other.removeAttribute('aria-current');
      link.setAttribute('aria-current', 'true');
      history.replaceState(null, '', link.href);
      void draw(link.dataset.range ?? '24h', Number(link.dataset.spanMs));
    });
  }
  window.addEventListener('resize', () => plot?.setSize({ width: Math.max(320, root.clientWidth), height: 300 }));
  void draw(root.dataset.range ?? '24h', Number(root.dataset.spanMs));
}

/** `seconds` in words: 48 s, 3 min, 2.5 h. */
function duration(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 6) / 10} min`;
  return `${Math.round(seconds / 360) / 10} h`;
}
