import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { selectHistory, selectHistoryEnd, useDashboard } from './store.ts';

/** Tasks per second over the last 10 minutes, drawn with uPlot (canvas: cheap to redraw every second). */
export function ThroughputChart() {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const history = useDashboard(selectHistory);
  const end = useDashboard(selectHistoryEnd);

  useEffect(() => {
    const el = box.current!;
    plot.current = new uPlot(
      {
        width: el.clientWidth || 600,
        height: 160,
        legend: { show: false },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
        series: [{}, { label: 'tasks/s', stroke: '#2f6f3e', fill: 'rgba(47,111,62,0.15)', width: 1.5 }],
        axes: [{ stroke: '#888' }, { stroke: '#888', size: 50 }],
      },
      [[], []],
      el,
    );
    const resize = () => plot.current?.setSize({ width: el.clientWidth, height: 160 });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => {
    const last = Math.floor(end / 1000);
    const xs = history.map((_, i) => last - (history.length - 1 - i));
    plot.current?.setData([xs, history]);
  }, [history, end]);

  return <div ref={box} className="chart" role="img" aria-label="Tasks finished per second over the last 10 minutes" data-testid="swarm.chart" />;
}
