/**
 * The ordered list of renderers content negotiation chooses from: port of DRF's
 * `APIView.renderer_classes`. The interface they share is in renderer.ts.
 */
import type { Renderer } from './renderer.js';
import { jsonRenderer } from './json.js';
import { createCsvRenderer } from './csv.js';
import { xlsxRenderer } from './xlsx.js';

export * from './renderer.js';

export interface RendererOptions {
  /** Neutralise formulas in CSV text cells (config CSV_FORMULA_GUARD); default true. */
  csvFormulaGuard?: boolean;
}

/** In preference order: the first is chosen for `*\/*` and shown first in OPTIONS `renders`. */
export function createRenderers(options: RendererOptions = {}): readonly Renderer[] {
  return [jsonRenderer, createCsvRenderer({ formulaGuard: options.csvFormulaGuard ?? true }), xlsxRenderer];
}

export const renderers: readonly Renderer[] = createRenderers();
