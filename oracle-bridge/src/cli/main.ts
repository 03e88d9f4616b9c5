#!/usr/bin/env node
/**
 * oracle-bridge — the GridX oracle operator's service.
 *
 *   oracle-bridge run [--config file] [flags]   ingest meter readings from MQTT, post them and grid prices on chain
 *   oracle-bridge broker [--port 1883] [--data-dir dir]   run the embedded MQTT broker on its own
 *   oracle-bridge simulate [options]            publish signed readings of simulated meters
 *   oracle-bridge functions simulate [options]  run functions/grid-price.js as the Chainlink DON would
 */
import { parseArgs } from "node:util";
import { startEmbeddedBroker } from "../adapters/embeddedBroker.ts";
import { createLogger } from "../adapters/telemetry.ts";
import { ConfigError, RUN_FLAGS, loadConfig } from "./config.ts";
import { startBridge } from "./run.ts";

const USAGE = `Usage: oracle-bridge <command> [options]

Commands:
  run                 run the bridge (see the README's operator section for configuration)
  broker              run the embedded MQTT broker alone
  simulate            run the meter simulator
  functions simulate  run the Chainlink Functions grid-price source locally
`;

function onSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`shutdown after ${signal} failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", handler);
  process.once("SIGTERM", handler);
}

async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: "string" },
      help: { type: "boolean" },
      ...Object.fromEntries(RUN_FLAGS.map(([flag]) => [flag, { type: "string" as const }])),
    },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(`Usage: oracle-bridge run [--config file] ${RUN_FLAGS.map(([f]) => `[--${f} value]`).join(" ")}\n`);
    return 0;
  }
  const config = loadConfig({ file: values.config as string | undefined, flags: values as Record<string, string | boolean | undefined> });
  const logger = createLogger(config.logLevel);
  process.on("unhandledRejection", (reason) => logger.error({ err: String(reason) }, "unhandled rejection"));
  const bridge = await startBridge(config, logger);
  onSignals(() => bridge.stop());
  return -1; // keep running
}

async function broker(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { host: { type: "string", default: "127.0.0.1" }, port: { type: "string", default: "1883" }, "data-dir": { type: "string", default: "./.broker-data" } },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new ConfigError(`--port: ${values.port} is not a TCP port`);
  const logger = createLogger(process.env.GRIDX_LOG_LEVEL ?? "info", "mqtt-broker");
  const server = await startEmbeddedBroker({ host: values.host, port, dataDir: values["data-dir"] });
  logger.info({ url: `mqtt://${server.host}:${server.port}`, dataDir: values["data-dir"] }, "MQTT broker listening");
  onSignals(() => server.close());
  return -1;
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  let code: number;
  switch (command) {
    case "run":
      code = await run(rest);
      break;
    case "broker":
      code = await broker(rest);
      break;
    case "simulate": {
      const { simulate } = await import("./simulate.ts");
      code = await simulate(rest);
      break;
    }
    case "functions": {
      const { functionsCommand } = await import("./functions.ts");
      code = await functionsCommand(rest);
      break;
    }
    case undefined:
    case "help":
    case "--help":
      process.stdout.write(USAGE);
      code = command === undefined ? 1 : 0;
      break;
    default:
      process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
      code = 1;
  }
  if (code >= 0) process.exit(code);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
