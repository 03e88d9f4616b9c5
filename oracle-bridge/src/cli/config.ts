/**
 * The bridge's configuration: defaults for one machine (`npm start`), then an optional JSON file
 * (`--config <file>` or GRIDX_BRIDGE_CONFIG), then environment variables, then command-line flags. Validated
 * with a schema at start-up: a bad value stops the bridge with a message naming the field.
 *
 * The default keys are Hardhat's well-known accounts #3, #4 and #5, which the local deployment makes oracle
 * operators; they are refused on any chain but 31337.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { deployments } from "../generated/contracts.ts";

const LOCAL_CHAIN_ID = 31337;
const HARDHAT_OPERATOR_KEYS = [
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6", // #3
  "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a", // #4
  "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba", // #5
] as const;

const privateKey = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "a 32-byte hex private key (0x + 64 hex digits)");
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "an address (0x + 40 hex digits)");
const decimal = z.string().regex(/^[0-9]+(\.[0-9]+)?$/, "a non-negative decimal number as a string");
const port = z.number().int().min(0).max(65_535);

export const ConfigSchema = z
  .object({
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    chain: z
      .object({
        rpcUrl: z.url().default("http://127.0.0.1:8545"),
        chainId: z.number().int().positive().default(LOCAL_CHAIN_ID),
        /** Contract addresses; default: the generated deployment of `chainId`. */
        addresses: z
          .object({
            SmartMeter: address,
            GridManagement: address,
            PriceOracle: address,
            GridOracle: address,
            WeatherOracle: address,
          })
          .optional(),
      })
      .prefault({}),
    keys: z
      .object({
        /** Sends submitReadings: must hold ORACLE_OPERATOR. */
        submitter: privateKey.default(HARDHAT_OPERATOR_KEYS[0]),
        /** Relays oracle reports (any funded account; a different one from the submitter, so nonces never race). */
        relayer: privateKey.default(HARDHAT_OPERATOR_KEYS[1]),
        /** Sign oracle observations: each must hold ORACLE_OPERATOR, at least the oracles' quorum of them. */
        oracleSigners: z.array(privateKey).min(1).default([...HARDHAT_OPERATOR_KEYS.slice(0, 2)]),
      })
      .prefault({}),
    mqtt: z
      .object({
        /** `embedded` runs the aedes broker in this process; otherwise mqtt://, mqtts://, ws:// or wss:// URL. */
        url: z.string().default("embedded"),
        clientId: z.string().min(1).max(64).default("gridx-oracle-bridge"),
        username: z.string().optional(),
        password: z.string().optional(),
        /** MQTT shared-subscription group (`$share/<group>/…`) to spread meters over several bridges. */
        sharedGroup: z.string().regex(/^[A-Za-z0-9_-]+$/).optional(),
        embedded: z
          .object({ host: z.string().default("127.0.0.1"), port: port.default(1883) })
          .prefault({}),
      })
      .prefault({}),
    dataDir: z.string().min(1).default("./.bridge-data"),
    durability: z.enum(["process-crash", "power-loss"]).default("process-crash"),
    http: z.object({ host: z.string().default("127.0.0.1"), port: port.default(9464) }).prefault({}),
    ingest: z
      .object({
        maxPayloadBytes: z.number().int().min(256).max(65_536).default(1024),
        maxFutureSkewSeconds: z.number().int().min(0).max(3600).default(60),
        maxAgeSeconds: z.number().int().positive().default(7 * 86_400),
      })
      .prefault({}),
    batching: z
      .object({
        maxBatchSize: z.number().int().min(1).max(200).default(100),
        maxAgeMs: z.number().int().min(0).default(2_000),
        gapTimeoutMs: z.number().int().min(0).default(3_000),
        bumpAfterMs: z.number().int().positive().default(30_000),
        rebroadcastAfterMs: z.number().int().positive().default(10_000),
        maxFeePerGasGwei: decimal.default("500"),
        pollMs: z.number().int().positive().default(100),
      })
      .prefault({}),
    grid: z
      .object({
        enabled: z.boolean().default(true),
        tickMs: z.number().int().min(100).default(5_000),
        pricing: z
          .object({
            base: decimal.default("6"),
            elasticity: decimal.default("0.15"),
            min: decimal.default("3"),
            max: decimal.default("12"),
            decimals: z.number().int().min(0).max(36).default(6),
          })
          .prefault({}),
        smoothingWindow: z.number().int().min(1).max(1_000).default(12),
        balancedBandBps: z.number().int().min(0).max(10_000).default(500),
        staleAfterSeconds: z.number().int().positive().default(300),
        priceDeviationBps: z.number().int().min(0).max(10_000).default(100),
        gridDeviationBps: z.number().int().min(0).max(10_000).default(500),
        priceHeartbeatSeconds: z.number().int().positive().default(600),
        gridHeartbeatSeconds: z.number().int().positive().default(240),
        weatherHeartbeatSeconds: z.number().int().positive().default(1_800),
        zones: z.array(z.number().int().positive()).default([]),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    if (config.chain.chainId !== LOCAL_CHAIN_ID) {
      const keys = [config.keys.submitter, config.keys.relayer, ...config.keys.oracleSigners].map((k) => k.toLowerCase());
      if (keys.some((k) => (HARDHAT_OPERATOR_KEYS as readonly string[]).includes(k))) {
        ctx.addIssue({ code: "custom", path: ["keys"], message: "Hardhat's public test keys are only allowed on chain 31337" });
      }
      if (config.chain.addresses === undefined && !(config.chain.chainId in deployments)) {
        ctx.addIssue({ code: "custom", path: ["chain", "addresses"], message: `no generated deployment for chain ${config.chain.chainId}: set the addresses` });
      }
    }
    if (config.keys.submitter.toLowerCase() === config.keys.relayer.toLowerCase()) {
      ctx.addIssue({ code: "custom", path: ["keys", "relayer"], message: "must differ from keys.submitter (their nonces would race)" });
    }
    if (new Set(config.keys.oracleSigners.map((k) => k.toLowerCase())).size !== config.keys.oracleSigners.length) {
      ctx.addIssue({ code: "custom", path: ["keys", "oracleSigners"], message: "the signers must be distinct" });
    }
  });

export type BridgeConfig = z.infer<typeof ConfigSchema>;

type Json = Record<string, unknown>;

function setPath(target: Json, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== "object" || node[key] === null) node[key] = {};
    node = node[key] as Json;
  }
  node[path[path.length - 1]] = value;
}

/** Environment variables an operator sets instead of (or on top of) a config file. */
const ENV: Array<[string, string[], (raw: string) => unknown]> = [
  ["GRIDX_RPC_URL", ["chain", "rpcUrl"], String],
  ["GRIDX_CHAIN_ID", ["chain", "chainId"], Number],
  ["GRIDX_MQTT_URL", ["mqtt", "url"], String],
  ["GRIDX_MQTT_CLIENT_ID", ["mqtt", "clientId"], String],
  ["GRIDX_MQTT_USERNAME", ["mqtt", "username"], String],
  ["GRIDX_MQTT_PASSWORD", ["mqtt", "password"], String],
  ["GRIDX_BRIDGE_DATA_DIR", ["dataDir"], String],
  ["GRIDX_BRIDGE_HTTP_PORT", ["http", "port"], Number],
  ["GRIDX_SUBMITTER_KEY", ["keys", "submitter"], String],
  ["GRIDX_RELAYER_KEY", ["keys", "relayer"], String],
  ["GRIDX_ORACLE_SIGNER_KEYS", ["keys", "oracleSigners"], (raw) => raw.split(",").map((k) => k.trim())],
  ["GRIDX_LOG_LEVEL", ["logLevel"], String],
];

/** Flags of `oracle-bridge run` (each overrides the same field of the file and environment). */
export const RUN_FLAGS: Array<[string, string[], (raw: string) => unknown]> = [
  ["rpc", ["chain", "rpcUrl"], String],
  ["mqtt", ["mqtt", "url"], String],
  ["mqtt-port", ["mqtt", "embedded", "port"], Number],
  ["client-id", ["mqtt", "clientId"], String],
  ["data-dir", ["dataDir"], String],
  ["http-port", ["http", "port"], Number],
  ["batch-size", ["batching", "maxBatchSize"], Number],
  ["batch-age-ms", ["batching", "maxAgeMs"], Number],
  ["bump-after-ms", ["batching", "bumpAfterMs"], Number],
  ["tick-ms", ["grid", "tickMs"], Number],
  ["log-level", ["logLevel"], String],
];

export class ConfigError extends Error {}

/** Builds and validates the configuration; throws ConfigError naming every bad field. */
export function loadConfig(options: {
  file?: string;
  env?: NodeJS.ProcessEnv;
  flags?: Record<string, string | boolean | undefined>;
}): BridgeConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? env.GRIDX_BRIDGE_CONFIG;
  let raw: Json = {};
  if (file !== undefined && file !== "") {
    try {
      raw = JSON.parse(readFileSync(file, "utf8")) as Json;
    } catch (error) {
      throw new ConfigError(`config file ${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      throw new ConfigError(`config file ${file}: not a JSON object`);
    }
  }
  for (const [name, path, convert] of ENV) {
    const value = env[name];
    if (value !== undefined && value !== "") setPath(raw, path, convert(value));
  }
  for (const [flag, path, convert] of RUN_FLAGS) {
    const value = options.flags?.[flag];
    if (typeof value === "string") setPath(raw, path, convert(value));
  }
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`);
    throw new ConfigError(`invalid bridge configuration:\n  ${problems.join("\n  ")}`);
  }
  return parsed.data;
}

/** The contract addresses the bridge talks to. */
export function contractAddresses(config: BridgeConfig): NonNullable<BridgeConfig["chain"]["addresses"]> {
  if (config.chain.addresses !== undefined) return config.chain.addresses;
  const deployed = (deployments as Record<number, Record<string, string>>)[config.chain.chainId];
  if (deployed === undefined) throw new ConfigError(`no generated deployment for chain ${config.chain.chainId}`);
  return {
    SmartMeter: deployed.SmartMeter,
    GridManagement: deployed.GridManagement,
    PriceOracle: deployed.PriceOracle,
    GridOracle: deployed.GridOracle,
    WeatherOracle: deployed.WeatherOracle,
  };
}
