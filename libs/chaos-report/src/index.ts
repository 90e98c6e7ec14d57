export * from './lib/figures';
export { reportFigures } from './lib/report-figures';
export { timelineBucketsMax } from './lib/timeline';
export { renderChaosReport, type ChaosReportData, type ChaosReportOptions } from './lib/render-chaos-report';
