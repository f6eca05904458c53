/** An ECharts chart as a Preact component (only the chart types the dashboard uses are bundled). */
import { LineChart, ScatterChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { useEffect, useRef } from 'preact/hooks';

echarts.use([
  LineChart,
  ScatterChart,
  GridComponent,
  LegendComponent,
  TooltipComponent,
  CanvasRenderer,
]);

export type ChartOption = echarts.EChartsCoreOption;

export interface ChartProps {
  option: ChartOption;
  height?: number;
  /** Called once the chart has drawn this option. */
  onRendered?: () => void;
  /** Called with the clicked item's data. */
  onItemClick?: (data: unknown) => void;
  testId?: string;
}

export function Chart({ option, height = 320, onRendered, onItemClick, testId }: ChartProps) {
  const element = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts>();
  const click = useRef(onItemClick);
  click.current = onItemClick;

  useEffect(() => {
    const target = element.current as HTMLDivElement;
    const instance = echarts.init(target, undefined, { renderer: 'canvas' });
    chart.current = instance;
    instance.on('click', (params) => click.current?.((params as { data?: unknown }).data));
    // Redraw when the box changes size (not on the observer's first call, at the size drawn).
    let size = `${target.clientWidth}x${target.clientHeight}`;
    const resize = new ResizeObserver(() => {
      const now = `${target.clientWidth}x${target.clientHeight}`;
      if (now === size) return;
      size = now;
      instance.resize();
    });
    resize.observe(target);
    return () => {
      resize.disconnect();
      instance.dispose();
    };
  }, []);

  useEffect(() => {
    const instance = chart.current;
    if (instance === undefined) return;
    if (onRendered !== undefined) {
      const done = (): void => {
        instance.off('finished', done);
        onRendered();
      };
      instance.on('finished', done);
    }
    instance.setOption(option, { notMerge: true });
  }, [option]);

  return <div class="chart" style={{ height: `${height}px` }} ref={element} data-testid={testId} />;
}
