/**
 * Runs the Chainlink Functions source `functions/grid-price.js` locally, exactly as a DON node would: in Deno,
 * through `simulateScript` of @chainlink/functions-toolkit (same sandbox, same `Functions` helpers, same limits).
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { decodeGridPriceResponse, type GridPriceAnswer } from "../domain/gridPriceFunction.ts";
import { ensureDenoOnPath } from "./deno.ts";

const require = createRequire(import.meta.url);
// The module itself, not the package index: the index also loads ganache and the secrets tooling, which print
// warnings and cost a second of start-up that a simulation does not need.
const { simulateScript } = require(
  "@chainlink/functions-toolkit/dist/simulateScript/simulateScript.js",
) as typeof import("@chainlink/functions-toolkit/dist/simulateScript/simulateScript.js");

/** Absolute path of the grid-price Functions source. */
export const GRID_PRICE_SOURCE_PATH = fileURLToPath(new URL("../../functions/grid-price.js", import.meta.url));

/** The grid-price Functions source, as FunctionsPriceFeed stores it and the DON runs it. */
export function readGridPriceSource(): Promise<string> {
  return readFile(GRID_PRICE_SOURCE_PATH, "utf8");
}

/** What one simulated execution produced: the decoded answer, or the error the DON would report. */
export type GridPriceSimulation =
  | { ok: true; answer: GridPriceAnswer; responseHex: string; terminalOutput: string }
  | { ok: false; error: string; terminalOutput: string };

/**
 * Runs `source` (default: grid-price.js) with `args` in the Functions sandbox. Script errors (bad args, a
 * malformed response) come back as `{ ok: false }`; only a missing Deno or toolkit failure throws.
 */
export async function simulateGridPrice(args: string[], source?: string): Promise<GridPriceSimulation> {
  ensureDenoOnPath();
  const result = await simulateScript({ source: source ?? (await readGridPriceSource()), args });
  const terminalOutput = result.capturedTerminalOutput ?? "";
  if (result.errorString !== undefined) return { ok: false, error: result.errorString, terminalOutput };
  if (result.responseBytesHexstring === undefined) {
    return { ok: false, error: "the script returned no response", terminalOutput };
  }
  try {
    const answer = decodeGridPriceResponse(result.responseBytesHexstring);
    return { ok: true, answer, responseHex: result.responseBytesHexstring, terminalOutput };
  } catch (error) {
    return { ok: false, error: (error as Error).message, terminalOutput };
  }
}
