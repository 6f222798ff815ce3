// The parts of ECharts the compare page draws with: parallel coordinates and scatter on a
// canvas, with tooltips. Everything else is left out to keep the file small.
import * as echarts from "echarts/core";
import { ParallelChart, ScatterChart } from "echarts/charts";
import { GridComponent, ParallelComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([ParallelChart, ScatterChart, GridComponent, ParallelComponent, TooltipComponent, CanvasRenderer]);
window.echarts = echarts;
