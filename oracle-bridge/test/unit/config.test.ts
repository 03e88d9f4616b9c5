import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, contractAddresses, loadConfig } from "../../src/cli/config.ts";
import { deployments } from "../../src/generated/contracts.ts";

const KEY_A = `0x${"a1".repeat(32)}`;
const KEY_B = `0x${"b2".repeat(32)}`;
const KEY_C = `0x${"c3".repeat(32)}`;
const HARDHAT_3 = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";
const ADDRESSES = {
  SmartMeter: `0x${"01".repeat(20)}`,
  GridManagement: `0x${"02".repeat(20)}`,
  PriceOracle: `0x${"03".repeat(20)}`,
  GridOracle: `0x${"04".repeat(20)}`,
  WeatherOracle: `0x${"05".repeat(20)}`,
};

let dir: string;
let fileCount = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "gridx-config-"));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});
function configFile(content: unknown): string {
  const path = join(dir, `config-${fileCount++}.json`);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

/** loadConfig with no file and an empty environment (never the test runner's). */
function load(options: { file?: string; env?: Record<string, string>; flags?: Record<string, string | boolean | undefined> } = {}) {
  return loadConfig({ env: {}, ...options });
}

/** Asserts loadConfig throws a ConfigError whose message names `field` (and matches `message` when given). */
function assertConfigError(run: () => unknown, field: string, message?: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.ok(error.message.includes(`${field}:`), `"${error.message}" does not name ${field}`);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  });
}

describe("loadConfig defaults", () => {
  it("is valid with nothing set, for the local chain", () => {
    const config = load();
    assert.equal(config.logLevel, "info");
    assert.equal(config.chain.rpcUrl, "http://127.0.0.1:8545");
    assert.equal(config.chain.chainId, 31337);
    assert.equal(config.chain.addresses, undefined);
    assert.equal(config.keys.submitter, HARDHAT_3);
    assert.notEqual(config.keys.relayer, config.keys.submitter);
    assert.equal(config.keys.oracleSigners.length, 2);
    assert.equal(config.mqtt.url, "embedded");
    assert.equal(config.mqtt.clientId, "gridx-oracle-bridge");
    assert.deepEqual(config.mqtt.embedded, { host: "127.0.0.1", port: 1883 });
    assert.equal(config.dataDir, "./.bridge-data");
    assert.equal(config.durability, "process-crash");
    assert.deepEqual(config.http, { host: "127.0.0.1", port: 9464 });
    assert.equal(config.ingest.maxPayloadBytes, 1024);
    assert.equal(config.batching.maxBatchSize, 100);
    assert.equal(config.batching.gapTimeoutMs, 3_000);
    assert.equal(config.grid.enabled, true);
    assert.deepEqual(config.grid.zones, []);
    assert.deepEqual(contractAddresses(config), {
      SmartMeter: deployments[31337].SmartMeter,
      GridManagement: deployments[31337].GridManagement,
      PriceOracle: deployments[31337].PriceOracle,
      GridOracle: deployments[31337].GridOracle,
      WeatherOracle: deployments[31337].WeatherOracle,
    });
  });

  it("reads process.env when no env is given (GRIDX_BRIDGE_CONFIG)", () => {
    const file = configFile({ logLevel: "warn" });
    const saved = process.env.GRIDX_BRIDGE_CONFIG;
    process.env.GRIDX_BRIDGE_CONFIG = file;
    try {
      assert.equal(loadConfig({}).logLevel, "warn");
    } finally {
      if (saved === undefined) delete process.env.GRIDX_BRIDGE_CONFIG;
      else process.env.GRIDX_BRIDGE_CONFIG = saved;
    }
  });
});

describe("loadConfig layering", () => {
  it("takes values from a JSON file, keeping defaults for the rest", () => {
    const file = configFile({ batching: { maxBatchSize: 50 }, grid: { zones: [1, 2] }, mqtt: { embedded: { port: 0 } } });
    const config = load({ file });
    assert.equal(config.batching.maxBatchSize, 50);
    assert.equal(config.batching.maxAgeMs, 2_000);
    assert.deepEqual(config.grid.zones, [1, 2]);
    assert.deepEqual(config.mqtt.embedded, { host: "127.0.0.1", port: 0 });
  });

  it("the file can be named by GRIDX_BRIDGE_CONFIG", () => {
    const file = configFile({ dataDir: "/var/lib/gridx" });
    assert.equal(load({ env: { GRIDX_BRIDGE_CONFIG: file } }).dataDir, "/var/lib/gridx");
  });

  it("environment variables override defaults and the file", () => {
    const file = configFile({ chain: { rpcUrl: "http://file:8545" }, dataDir: "/from/file", logLevel: "warn" });
    const config = load({
      file,
      env: {
        GRIDX_RPC_URL: "https://rpc.example.org/v1",
        GRIDX_CHAIN_ID: "31337",
        GRIDX_MQTT_URL: "mqtts://broker.example.org:8883",
        GRIDX_MQTT_CLIENT_ID: "bridge-7",
        GRIDX_MQTT_USERNAME: "user",
        GRIDX_MQTT_PASSWORD: "secret",
        GRIDX_BRIDGE_DATA_DIR: "/from/env",
        GRIDX_BRIDGE_HTTP_PORT: "9000",
        GRIDX_SUBMITTER_KEY: KEY_A,
        GRIDX_RELAYER_KEY: KEY_B,
        GRIDX_ORACLE_SIGNER_KEYS: ` ${KEY_B} , ${KEY_C}`,
        GRIDX_LOG_LEVEL: "debug",
      },
    });
    assert.equal(config.chain.rpcUrl, "https://rpc.example.org/v1");
    assert.equal(config.mqtt.url, "mqtts://broker.example.org:8883");
    assert.equal(config.mqtt.clientId, "bridge-7");
    assert.equal(config.mqtt.username, "user");
    assert.equal(config.mqtt.password, "secret");
    assert.equal(config.dataDir, "/from/env");
    assert.equal(config.http.port, 9000);
    assert.equal(config.keys.submitter, KEY_A);
    assert.equal(config.keys.relayer, KEY_B);
    assert.deepEqual(config.keys.oracleSigners, [KEY_B, KEY_C]);
    assert.equal(config.logLevel, "debug");
  });

  it("an empty environment variable is ignored", () => {
    assert.equal(load({ env: { GRIDX_RPC_URL: "", GRIDX_BRIDGE_HTTP_PORT: "" } }).chain.rpcUrl, "http://127.0.0.1:8545");
  });

  it("flags override the environment and the file", () => {
    const file = configFile({ batching: { maxBatchSize: 10 }, grid: { tickMs: 1_000 } });
    const config = load({
      file,
      env: { GRIDX_RPC_URL: "http://env:8545", GRIDX_MQTT_URL: "mqtt://env:1883", GRIDX_BRIDGE_DATA_DIR: "/env", GRIDX_LOG_LEVEL: "debug", GRIDX_MQTT_CLIENT_ID: "env", GRIDX_BRIDGE_HTTP_PORT: "1" },
      flags: {
        rpc: "http://flag:8545",
        mqtt: "mqtt://flag:1883",
        "mqtt-port": "1884",
        "client-id": "flag",
        "data-dir": "/flag",
        "http-port": "2",
        "batch-size": "200",
        "batch-age-ms": "0",
        "tick-ms": "100",
        "log-level": "error",
        unrelated: "ignored",
        verbose: true, // boolean flags are not values
      },
    });
    assert.equal(config.chain.rpcUrl, "http://flag:8545");
    assert.equal(config.mqtt.url, "mqtt://flag:1883");
    assert.equal(config.mqtt.embedded.port, 1884);
    assert.equal(config.mqtt.clientId, "flag");
    assert.equal(config.dataDir, "/flag");
    assert.equal(config.http.port, 2);
    assert.equal(config.batching.maxBatchSize, 200);
    assert.equal(config.batching.maxAgeMs, 0);
    assert.equal(config.grid.tickMs, 100);
    assert.equal(config.logLevel, "error");
  });

  it("accepts another chain with its own keys and addresses", () => {
    const config = load({
      env: { GRIDX_CHAIN_ID: "1", GRIDX_SUBMITTER_KEY: KEY_A, GRIDX_RELAYER_KEY: KEY_B, GRIDX_ORACLE_SIGNER_KEYS: `${KEY_A},${KEY_C}` },
      file: configFile({ chain: { addresses: ADDRESSES } }),
    });
    assert.equal(config.chain.chainId, 1);
    assert.deepEqual(contractAddresses(config), ADDRESSES);
  });
});

describe("loadConfig refuses bad values, naming the field", () => {
  it("chain.rpcUrl not a URL", () => {
    assertConfigError(() => load({ env: { GRIDX_RPC_URL: "not a url" } }), "chain.rpcUrl");
    assertConfigError(() => load({ flags: { rpc: "localhost 8545" } }), "chain.rpcUrl");
  });

  it("batching.maxBatchSize above the contract's 200 (and below 1, and not an integer)", () => {
    assertConfigError(() => load({ flags: { "batch-size": "201" } }), "batching.maxBatchSize");
    assertConfigError(() => load({ flags: { "batch-size": "0" } }), "batching.maxBatchSize");
    assertConfigError(() => load({ flags: { "batch-size": "1.5" } }), "batching.maxBatchSize");
    assertConfigError(() => load({ flags: { "batch-size": "many" } }), "batching.maxBatchSize");
  });

  it("keys.submitter malformed", () => {
    for (const bad of ["0x1234", KEY_A.slice(2), `${KEY_A}00`, `0x${"g".repeat(64)}`]) {
      assertConfigError(() => load({ env: { GRIDX_SUBMITTER_KEY: bad } }), "keys.submitter", /32-byte hex private key/);
    }
  });

  it("the same submitter and relayer key (case-insensitively)", () => {
    assertConfigError(
      () => load({ env: { GRIDX_SUBMITTER_KEY: KEY_A, GRIDX_RELAYER_KEY: KEY_A.toUpperCase().replace("0X", "0x") } }),
      "keys.relayer",
      /must differ from keys.submitter/,
    );
  });

  it("duplicate oracle signers (case-insensitively), or none", () => {
    assertConfigError(
      () => load({ env: { GRIDX_ORACLE_SIGNER_KEYS: `${KEY_C},${KEY_C.toUpperCase().replace("0X", "0x")}` } }),
      "keys.oracleSigners",
      /distinct/,
    );
    assertConfigError(() => load({ file: configFile({ keys: { oracleSigners: [] } }) }), "keys.oracleSigners");
    assertConfigError(() => load({ env: { GRIDX_ORACLE_SIGNER_KEYS: `${KEY_C},nope` } }), "keys.oracleSigners.1");
  });

  it("Hardhat's public test keys are refused on chain 1 (defaults, or any one of them set explicitly)", () => {
    assertConfigError(
      () => load({ env: { GRIDX_CHAIN_ID: "1" }, file: configFile({ chain: { addresses: ADDRESSES } }) }),
      "keys",
      /only allowed on chain 31337/,
    );
    assertConfigError(
      () =>
        load({
          env: { GRIDX_CHAIN_ID: "1", GRIDX_SUBMITTER_KEY: KEY_A, GRIDX_RELAYER_KEY: KEY_B, GRIDX_ORACLE_SIGNER_KEYS: `${KEY_C},${HARDHAT_3.toUpperCase().replace("0X", "0x")}` },
          file: configFile({ chain: { addresses: ADDRESSES } }),
        }),
      "keys",
      /only allowed on chain 31337/,
    );
  });

  it("missing addresses for a chain id without a generated deployment", () => {
    assertConfigError(
      () => load({ env: { GRIDX_CHAIN_ID: "424242", GRIDX_SUBMITTER_KEY: KEY_A, GRIDX_RELAYER_KEY: KEY_B, GRIDX_ORACLE_SIGNER_KEYS: KEY_C } }),
      "chain.addresses",
      /no generated deployment for chain 424242/,
    );
  });

  it("a malformed contract address", () => {
    assertConfigError(
      () => load({ file: configFile({ chain: { addresses: { ...ADDRESSES, GridOracle: "0x1234" } } }) }),
      "chain.addresses.GridOracle",
    );
  });

  it("chain id, ports and enums out of range", () => {
    assertConfigError(() => load({ env: { GRIDX_CHAIN_ID: "0" } }), "chain.chainId");
    assertConfigError(() => load({ env: { GRIDX_CHAIN_ID: "abc" } }), "chain.chainId");
    assertConfigError(() => load({ env: { GRIDX_BRIDGE_HTTP_PORT: "65536" } }), "http.port");
    assertConfigError(() => load({ flags: { "mqtt-port": "-1" } }), "mqtt.embedded.port");
    assertConfigError(() => load({ env: { GRIDX_LOG_LEVEL: "loud" } }), "logLevel");
    assertConfigError(() => load({ file: configFile({ durability: "forever" }) }), "durability");
    assertConfigError(() => load({ file: configFile({ grid: { pricing: { base: "-1" } } }) }), "grid.pricing.base");
    assertConfigError(() => load({ file: configFile({ ingest: { maxPayloadBytes: 100 } }) }), "ingest.maxPayloadBytes");
  });

  it("names every bad field at once", () => {
    assert.throws(
      () => load({ env: { GRIDX_RPC_URL: "nope" }, flags: { "batch-size": "201" } }),
      (error: unknown) => error instanceof ConfigError && /chain\.rpcUrl:/.test(error.message) && /batching\.maxBatchSize:/.test(error.message),
    );
  });

  it("a config file that is not JSON, or does not exist", () => {
    const notJson = configFile("{ chain: nope");
    assert.throws(
      () => load({ file: notJson }),
      (error: unknown) => error instanceof ConfigError && error.message.startsWith(`config file ${notJson}:`),
    );
    const missing = join(dir, "missing.json");
    assert.throws(
      () => load({ file: missing }),
      (error: unknown) => error instanceof ConfigError && error.message.includes(missing) && /ENOENT/.test(error.message),
    );
  });

  it("a config file whose top level is not an object", () => {
    for (const content of ["[1, 2]", "42", '"text"']) {
      assert.throws(() => load({ file: configFile(content) }), ConfigError, content);
    }
  });
});

describe("loadConfig with a non-object config file and an override (documents a bug: currently a TypeError)", () => {
  // src/cli/config.ts setPath() writes into whatever JSON.parse returned; for `null` or a number/string/boolean
  // that throws a plain TypeError ("Cannot read properties of null" / "Cannot create property … on number"),
  // not a ConfigError naming the problem. Expected: a ConfigError.
  for (const content of ["null", "42", '"text"', "true"]) {
    it(`file ${content} with GRIDX_RPC_URL set gives a ConfigError`, () => {
      assert.throws(() => load({ file: configFile(content), env: { GRIDX_RPC_URL: "http://127.0.0.1:8545" } }), ConfigError);
    });
  }
});
