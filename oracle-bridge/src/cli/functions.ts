/**
 * `oracle-bridge functions <subcommand>`: Chainlink Functions tooling.
 *
 *   oracle-bridge functions simulate --zone 1 --supply 5000000 --demand 5010000
 *                                    [--base 6] [--elasticity 0.15] [--min 3] [--max 12] [--decimals 6] [--json]
 *
 * `simulate` runs functions/grid-price.js in the same Deno sandbox a DON node uses (simulateScript of
 * @chainlink/functions-toolkit) and prints the decoded answer FunctionsPriceFeed would receive: the price in
 * payment-token base units per kWh, supply and demand in W. Exit code 0 on an answer, 1 on a script error or
 * bad usage. The result goes to stdout (errors to stderr); diagnostics are pino logs on stderr, so stdout stays
 * the command's result alone (level: GRIDX_LOG_LEVEL, default "info"; "debug" shows the args and the script's
 * console output).
 */
import { parseArgs } from "node:util";
import { pino } from "pino";
import { simulateGridPrice } from "../adapters/chainlinkFunctions.ts";
import { DEFAULT_PRICING_CONFIG } from "../domain/gridStability.ts";

/** Where the command writes; tests pass their own. */
export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processIo: CommandIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

export const FUNCTIONS_USAGE = `Usage: oracle-bridge functions simulate --zone <id> --supply <W> --demand <W> [options]

Runs oracle-bridge/functions/grid-price.js in the Chainlink Functions sandbox (Deno) and prints the answer.

Options:
  --zone <id>            GridX zone id (1 .. 2^32-1)
  --supply <W>           zone supply in W (integer)
  --demand <W>           zone demand in W (integer)
  --base <units>         price at zero imbalance, token units per kWh    (default ${DEFAULT_PRICING_CONFIG.base})
  --elasticity <units>   token units per kWh per kW of demand - supply   (default ${DEFAULT_PRICING_CONFIG.elasticity})
  --min <units>          lowest price, token units per kWh               (default ${DEFAULT_PRICING_CONFIG.min})
  --max <units>          highest price, token units per kWh              (default ${DEFAULT_PRICING_CONFIG.max})
  --decimals <n>         payment-token decimals                          (default ${DEFAULT_PRICING_CONFIG.decimals})
  --json                 print the answer as one JSON object
  -h, --help             show this help
`;

const PRICING_OPTIONS = ["base", "elasticity", "min", "max", "decimals"] as const;

/** Formats `units` base units with `decimals` decimals, without trailing zeros: 7500000, 6 → "7.5". */
function formatUnits(units: bigint, decimals: number): string {
  if (decimals === 0) return units.toString();
  const digits = units.toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, -decimals);
  const fraction = digits.slice(-decimals).replace(/0+$/, "");
  return fraction === "" ? whole : `${whole}.${fraction}`;
}

/** Runs `oracle-bridge functions <argv...>`; resolves to the process exit code. */
export async function functionsCommand(argv: string[], io: CommandIo = processIo): Promise<number> {
  const log = pino(
    { name: "oracle-bridge", level: process.env.GRIDX_LOG_LEVEL ?? "info", base: { command: "functions" } },
    pino.destination(2),
  );
  const [subcommand, ...rest] = argv;
  if (subcommand === undefined || subcommand === "-h" || subcommand === "--help" || subcommand === "help") {
    io.stdout(FUNCTIONS_USAGE);
    return subcommand === undefined ? 1 : 0;
  }
  if (subcommand !== "simulate") {
    io.stderr(`oracle-bridge functions: unknown subcommand "${subcommand}"\n\n${FUNCTIONS_USAGE}`);
    return 1;
  }

  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      strict: true,
      allowPositionals: false,
      options: {
        zone: { type: "string" },
        supply: { type: "string" },
        demand: { type: "string" },
        base: { type: "string" },
        elasticity: { type: "string" },
        min: { type: "string" },
        max: { type: "string" },
        decimals: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    io.stderr(`oracle-bridge functions simulate: ${(error as Error).message}\n\n${FUNCTIONS_USAGE}`);
    return 1;
  }
  if (values.help) {
    io.stdout(FUNCTIONS_USAGE);
    return 0;
  }
  const missing = (["zone", "supply", "demand"] as const).filter((name) => values[name] === undefined);
  if (missing.length > 0) {
    io.stderr(`oracle-bridge functions simulate: missing ${missing.map((name) => `--${name}`).join(", ")}\n\n`);
    io.stderr(FUNCTIONS_USAGE);
    return 1;
  }

  // The script validates every argument itself (as it must on the DON); the CLI passes them through verbatim
  // so the simulation reports exactly the error a DON would.
  const args = [values.zone, values.supply, values.demand] as string[];
  const overridesPricing = PRICING_OPTIONS.some((name) => values[name] !== undefined);
  const pricing = {
    base: values.base ?? DEFAULT_PRICING_CONFIG.base,
    elasticity: values.elasticity ?? DEFAULT_PRICING_CONFIG.elasticity,
    min: values.min ?? DEFAULT_PRICING_CONFIG.min,
    max: values.max ?? DEFAULT_PRICING_CONFIG.max,
    decimals: values.decimals ?? DEFAULT_PRICING_CONFIG.decimals.toString(),
  };
  if (overridesPricing) args.push(pricing.base, pricing.elasticity, pricing.min, pricing.max, pricing.decimals);

  log.debug({ args }, "simulating grid-price.js");
  let simulation;
  try {
    simulation = await simulateGridPrice(args);
  } catch (error) {
    log.error({ err: error }, "simulation could not run");
    io.stderr(`oracle-bridge functions simulate: ${(error as Error).message}\n`);
    return 1;
  }
  if (simulation.terminalOutput.trim() !== "") {
    log.debug({ output: simulation.terminalOutput }, "grid-price.js console output");
  }

  if (!simulation.ok) {
    if (values.json) io.stdout(`${JSON.stringify({ zone: values.zone, args, error: simulation.error })}\n`);
    io.stderr(`grid-price.js failed: ${simulation.error}\n`);
    return 1;
  }

  const { pricePerKWh, supplyW, demandW } = simulation.answer;
  if (values.json) {
    io.stdout(
      `${JSON.stringify({
        zone: values.zone,
        args,
        pricePerKWh: pricePerKWh.toString(),
        supplyW: supplyW.toString(),
        demandW: demandW.toString(),
        response: simulation.responseHex,
      })}\n`,
    );
    return 0;
  }
  const decimals = Number(pricing.decimals);
  io.stdout(
    [
      `grid-price.js, zone ${values.zone} (simulated in the Chainlink Functions sandbox)`,
      `  pricePerKWh  ${pricePerKWh}  (${formatUnits(pricePerKWh, decimals)} token units per kWh, ${decimals} decimals)`,
      `  supplyW      ${supplyW}`,
      `  demandW      ${demandW}`,
      `  imbalanceW   ${demandW - supplyW}`,
      `  response     ${simulation.responseHex}`,
      "",
    ].join("\n"),
  );
  return 0;
}
