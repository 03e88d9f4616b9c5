/**
 * `oracle-bridge functions simulate` and the adapter beneath it, for real: grid-price.js runs in Deno through the
 * toolkit's simulateScript, the sandbox a DON node uses. Needs only the installed npm packages (the `deno`
 * package's binary is found even when its install script never ran).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simulateGridPrice } from "../../src/adapters/chainlinkFunctions.ts";
import { denoPlatformPackage, ensureDenoOnPath, resolveDenoBinary } from "../../src/adapters/deno.ts";
import { functionsCommand } from "../../src/cli/functions.ts";

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await functionsCommand(argv, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
  });
  return { code, stdout, stderr };
}

describe("deno binary", () => {
  it("is resolved from the npm packages and put first on PATH", () => {
    const binary = ensureDenoOnPath();
    assert.notEqual(binary, "deno", "expected the npm-installed binary");
    assert.ok(process.env.PATH?.startsWith(binary.slice(0, binary.lastIndexOf("/"))));
  });

  it("is found in the platform package when the deno install script never ran", () => {
    const real = resolveDenoBinary({ allowPath: false });
    const root = mkdtempSync(join(tmpdir(), "gridx-deno-"));
    try {
      // A fresh `npm install --ignore-scripts`: the deno package without its binary, the platform package with it.
      const denoDir = join(root, "node_modules", "deno");
      const platformDir = join(root, "node_modules", ...denoPlatformPackage().split("/"));
      mkdirSync(denoDir, { recursive: true });
      mkdirSync(platformDir, { recursive: true });
      writeFileSync(join(denoDir, "package.json"), JSON.stringify({ name: "deno", version: "0.0.0" }));
      writeFileSync(join(platformDir, "package.json"), JSON.stringify({ name: denoPlatformPackage(), version: "0.0.0" }));
      symlinkSync(real, join(platformDir, "deno"));
      assert.equal(resolveDenoBinary({ from: join(root, "app.js"), allowPath: false }), join(platformDir, "deno"));

      rmSync(join(platformDir, "deno"));
      assert.throws(() => resolveDenoBinary({ from: join(root, "app.js"), allowPath: false }), /Deno not found/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("simulateGridPrice (Deno sandbox)", () => {
  const cases: Array<[string, string, bigint]> = [
    ["5000000", "5000000", 6_000_000n],
    ["5000000", "5010000", 7_500_000n],
    ["5010000", "5000000", 4_500_000n],
    ["0", "40000", 12_000_000n],
    ["20000", "0", 3_000_000n],
  ];
  for (const [supply, demand, expected] of cases) {
    it(`supply ${supply} W, demand ${demand} W → ${expected}`, async () => {
      const result = await simulateGridPrice(["1", supply, demand]);
      assert.ok(result.ok, result.ok ? "" : result.error);
      assert.deepEqual(result.answer, { pricePerKWh: expected, supplyW: BigInt(supply), demandW: BigInt(demand) });
      assert.equal(result.responseHex.length, 2 + 2 * 96);
    });
  }

  it("reports the script's error as the DON would", async () => {
    const result = await simulateGridPrice(["1", "-1", "0"]);
    assert.deepEqual(result.ok ? null : result.error, 'grid-price: supplyW "-1" is not a non-negative integer');
  });

  it("reports a response that is not three words", async () => {
    const result = await simulateGridPrice([], "return Functions.encodeUint256(1)");
    assert.deepEqual(result.ok ? null : result.error, "grid-price response has 32 bytes, expected 96");
  });
});

describe("oracle-bridge functions simulate", () => {
  it("prints the decoded answer and exits 0", async () => {
    const { code, stdout, stderr } = await cli("simulate", "--zone", "1", "--supply", "5000000", "--demand", "5010000");
    assert.equal(code, 0, stderr);
    assert.match(stdout, /pricePerKWh {2}7500000 {2}\(7\.5 token units per kWh, 6 decimals\)/);
    assert.match(stdout, /supplyW {6}5000000/);
    assert.match(stdout, /demandW {6}5010000/);
    assert.match(stdout, /response {5}0x0{58}7270e0/);
  });

  it("applies pricing overrides and prints JSON", async () => {
    const { code, stdout } = await cli(
      "simulate", "--zone", "2", "--supply", "0", "--demand", "100000", "--max", "20", "--json",
    );
    assert.equal(code, 0);
    const answer = JSON.parse(stdout);
    assert.deepEqual(answer.args, ["2", "0", "100000", "6", "0.15", "3", "20", "6"]);
    assert.equal(answer.pricePerKWh, "20000000"); // 6 + 0.15 × 100 kW = 21, clamped to the overridden max
    assert.equal(answer.supplyW, "0");
    assert.equal(answer.demandW, "100000");
  });

  it("prints the script's error and exits 1", async () => {
    const { code, stdout, stderr } = await cli("simulate", "--zone", "1", "--supply", "1", "--demand", "1", "--elasticity", "0.1234567");
    assert.equal(code, 1);
    assert.equal(stdout, "");
    assert.equal(stderr, 'grid-price.js failed: grid-price: elasticity "0.1234567" has 7 fractional digits, the token has only 6 decimals\n');
  });

  it("exits 1 with usage on missing options, unknown options or subcommands", async () => {
    const missing = await cli("simulate", "--zone", "1");
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /missing --supply, --demand/);
    const unknown = await cli("simulate", "--zone", "1", "--supply", "1", "--demand", "1", "--bogus");
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /Unknown option '--bogus'/);
    const subcommand = await cli("deploy");
    assert.equal(subcommand.code, 1);
    assert.match(subcommand.stderr, /unknown subcommand "deploy"/);
    const help = await cli("simulate", "--help");
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: oracle-bridge functions simulate/);
  });
});
