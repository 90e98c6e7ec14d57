import { createHash } from 'node:crypto';
import type { ReportFigures } from './figures';
import { reportAssets } from './report-assets';

// One HTML file that shows a chaos run offline: uPlot, the report's script
// and style are inlined, and the figures ride along as JSON for the script
// to draw. Its Content-Security-Policy allows exactly those inlined scripts
// and styles (by hash) and nothing else, so the browser itself refuses any
// fetch, and a description from the history cannot run as code.

export interface ChaosReportOptions {
  readonly title: string;
  /** With the command, what reproduces the run. */
  readonly seed?: number | string;
  readonly command?: string;
}

/** What the page's script reads from the embedded JSON. */
export interface ChaosReportData {
  readonly title: string;
  readonly seed: number | string | null;
  readonly command: string | null;
  readonly figures: ReportFigures;
}

const htmlEscapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => htmlEscapes[character] as string);
}

/**
 * JSON safe inside a <script> element: a `<` could start `</script>` or
 * `<!--` and end or confuse the element; as \u003c it is the same string to
 * JSON.parse.
 */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** Inlined code must not end its own element early; our files and uPlot's never do, so this is a bug caught loudly. */
function inlined(code: string, element: 'script' | 'style'): string {
  if (code.toLowerCase().includes(`</${element}`)) throw new Error(`an inlined ${element} contains </${element}`);
  return code;
}

const cspHash = (code: string) => `'sha256-${createHash('sha256').update(code, 'utf8').digest('base64')}'`;

/** The report page of a run's figures: one self-contained HTML string, nothing fetched when viewed. */
export function renderChaosReport(figures: ReportFigures, options: ChaosReportOptions): string {
  const assets = reportAssets();
  const scripts = [inlined(assets.uplotScript, 'script'), inlined(assets.reportScript, 'script')];
  const styles = [inlined(assets.uplotStyle, 'style'), inlined(assets.reportStyle, 'style')];
  const contentSecurityPolicy = [
    "default-src 'none'",
    `script-src ${scripts.map(cspHash).join(' ')}`,
    `style-src ${styles.map(cspHash).join(' ')}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const data: ChaosReportData = {
    title: options.title,
    seed: options.seed ?? null,
    command: options.command ?? null,
    figures,
  };
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(options.title)}</title>`,
    ...styles.map((style) => `<style>${style}</style>`),
    '</head>',
    '<body>',
    "<noscript>This report draws itself with JavaScript; its figures are also in the run's summary.json.</noscript>",
    '<main id="report"></main>',
    `<script type="application/json" id="report-data">${jsonForScript(data)}</script>`,
    ...scripts.map((script) => `<script>${script}</script>`),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
