import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { concat, encodeAbiParameters, keccak256, recoverAddress, stringToHex, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  gridValues,
  ORACLE_NAMES,
  ORACLE_REPORTS,
  priceValues,
  reportDigest,
  reportDomain,
  reportMessage,
  reportTypes,
  reportTypeString,
  signObservation,
  sortObservations,
  weatherValues,
  type OracleName,
} from "../../src/domain/oracleReports.ts";

const ALICE = privateKeyToAccount("0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6");
const BOB = privateKeyToAccount("0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a");
const CAROL = privateKeyToAccount("0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba");
const OPERATORS = [ALICE, BOB, CAROL];
const CHAIN_ID = 31337n;
const ORACLE_ADDRESS: Address = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0";

/** REPORT_TYPEHASH's type string as written in contracts/<oracle>.sol (adjacent string literals joined). */
function contractTypeString(oracle: OracleName): string {
  const source = readFileSync(join(import.meta.dirname, `../../../contracts/${oracle}.sol`), "utf8");
  const match = /REPORT_TYPEHASH\s*=\s*keccak256\(\s*((?:"[^"]*"\s*)+)\)/.exec(source);
  assert.ok(match, `REPORT_TYPEHASH not found in ${oracle}.sol`);
  return [...(match[1] ?? "").matchAll(/"([^"]*)"/g)].map((m) => m[1]).join("");
}

/** What QuorumOracle.reportDigest computes, built independently of hashTypedData. */
function contractDigest(oracle: OracleName, zone: bigint, round: bigint, observedAt: bigint, values: bigint[]): Hex {
  const domainSeparator = keccak256(
    encodeAbiParameters(
      [{ type: "bytes32" }, { type: "bytes32" }, { type: "bytes32" }, { type: "uint256" }, { type: "address" }],
      [
        keccak256(stringToHex("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")),
        keccak256(stringToHex(ORACLE_REPORTS[oracle].domainName)),
        keccak256(stringToHex("1")),
        CHAIN_ID,
        ORACLE_ADDRESS,
      ],
    ),
  );
  // abi.encodePacked(typehash, uint256(zone), uint256(round), uint256(observedAt), int256[] values): all words.
  const words = [zone, round, observedAt, ...values];
  const structHash = keccak256(
    encodeAbiParameters(
      [{ type: "bytes32" }, ...words.map(() => ({ type: "int256" }))],
      [keccak256(stringToHex(contractTypeString(oracle))), ...words],
    ),
  );
  return keccak256(concat(["0x1901", domainSeparator, structHash]));
}

const SAMPLE_VALUES: Record<OracleName, bigint[]> = {
  PriceOracle: priceValues({ pricePerKWh: 7_500_000n, supplyW: 90_000n, demandW: 100_000n }),
  GridOracle: gridValues({
    supplyW: 90_000n,
    demandW: 100_000n,
    status: 2,
    healthBps: 8_619,
    frequency_mHz: 49_900,
    voltage_mV: 225_000,
    headroomW: 400_000n,
  }),
  WeatherOracle: weatherValues({ irradiance_Wm2: 650, temperature_cC: -1_250, cloudCoverBps: 3_000, condition: 1 }),
};

describe("type strings and typehashes", () => {
  it("match each oracle contract's REPORT_TYPEHASH", () => {
    for (const oracle of ORACLE_NAMES) {
      assert.equal(reportTypeString(oracle), contractTypeString(oracle), oracle);
      assert.equal(keccak256(stringToHex(reportTypeString(oracle))), keccak256(stringToHex(contractTypeString(oracle))));
    }
  });

  it("are the documented strings", () => {
    assert.equal(
      reportTypeString("PriceOracle"),
      "PriceReport(uint32 zone,uint64 round,uint64 observedAt,uint128 pricePerKWh,uint64 supplyW,uint64 demandW)",
    );
    assert.equal(
      reportTypeString("GridOracle"),
      "GridReport(uint32 zone,uint64 round,uint64 observedAt,uint64 supplyW,uint64 demandW,uint8 status," +
        "uint16 healthBps,uint32 frequency_mHz,uint32 voltage_mV,uint64 headroomW)",
    );
    assert.equal(
      reportTypeString("WeatherOracle"),
      "WeatherReport(uint32 zone,uint64 round,uint64 observedAt,uint32 irradiance_Wm2,int32 temperature_cC," +
        "uint16 cloudCoverBps,uint8 condition)",
    );
  });

  it("mirror the contracts' test helper test/helpers/oracleTypedData.ts", async () => {
    const helperUrl = new URL("../../../test/helpers/oracleTypedData.ts", import.meta.url).href;
    const helper = (await import(helperUrl)) as { ORACLE_REPORTS: unknown; reportTypeString: (oracle: string) => string };
    assert.deepEqual(ORACLE_REPORTS, helper.ORACLE_REPORTS);
    for (const oracle of ORACLE_NAMES) assert.equal(reportTypeString(oracle), helper.reportTypeString(oracle));
  });

  it("reportTypes returns fresh objects", () => {
    const [zone] = reportTypes("PriceOracle").PriceReport ?? [];
    assert.ok(zone);
    zone.type = "uint256";
    assert.equal(reportTypes("PriceOracle").PriceReport?.[0]?.type, "uint32");
    assert.equal(ORACLE_REPORTS.PriceOracle.fields[0].type, "uint128");
  });
});

describe("values in field order", () => {
  it("price, grid and weather values follow the report's field order", () => {
    assert.deepEqual(SAMPLE_VALUES.PriceOracle, [7_500_000n, 90_000n, 100_000n]);
    assert.deepEqual(SAMPLE_VALUES.GridOracle, [90_000n, 100_000n, 2n, 8_619n, 49_900n, 225_000n, 400_000n]);
    assert.deepEqual(SAMPLE_VALUES.WeatherOracle, [650n, -1_250n, 3_000n, 1n]);
    for (const oracle of ORACLE_NAMES) assert.equal(SAMPLE_VALUES[oracle].length, ORACLE_REPORTS[oracle].fields.length);
  });

  it("reportMessage names them and refuses a wrong count or a value outside its type, naming the field", () => {
    assert.deepEqual(reportMessage("PriceOracle", { zone: 1, round: 2n, observedAt: 3n, values: [4n, 5n, 6n] }), {
      zone: 1n,
      round: 2n,
      observedAt: 3n,
      pricePerKWh: 4n,
      supplyW: 5n,
      demandW: 6n,
    });
    assert.throws(() => reportMessage("PriceOracle", { zone: 1, round: 1, observedAt: 1, values: [1n, 2n] }), /3 values, got 2/);
    const grid = SAMPLE_VALUES.GridOracle;
    const bad: [OracleName, Partial<{ zone: bigint; values: bigint[] }>, RegExp][] = [
      ["GridOracle", { values: grid.map((v, i) => (i === 2 ? 256n : v)) }, /GridReport\.status.*uint8/],
      ["GridOracle", { values: grid.map((v, i) => (i === 3 ? 65_536n : v)) }, /healthBps/],
      ["GridOracle", { values: grid.map((v, i) => (i === 0 ? -1n : v)) }, /supplyW/],
      ["WeatherOracle", { values: [1n, -(1n << 31n) - 1n, 0n, 0n] }, /temperature_cC.*int32/],
      ["PriceOracle", { values: [1n << 128n, 0n, 0n] }, /pricePerKWh.*uint128/],
      ["PriceOracle", { zone: 1n << 32n, values: [1n, 1n, 1n] }, /PriceReport\.zone/],
    ];
    for (const [oracle, override, message] of bad) {
      assert.throws(() => reportMessage(oracle, { zone: 1n, round: 1n, observedAt: 1n, values: [], ...override }), message);
    }
    // The extremes of a signed field fit.
    assert.equal(
      reportMessage("WeatherOracle", { zone: 1, round: 1, observedAt: 1, values: [0n, -(1n << 31n), 0n, 0n] }).temperature_cC,
      -(1n << 31n),
    );
  });
});

describe("digest, signing and recovery", () => {
  const header = { zone: 3n, round: 17n, observedAt: 1_750_000_000n };

  it("reportDigest equals the contract's digest, negative int32 included", () => {
    for (const oracle of ORACLE_NAMES) {
      const domain = reportDomain(oracle, CHAIN_ID, ORACLE_ADDRESS);
      const values = SAMPLE_VALUES[oracle];
      assert.equal(
        reportDigest(oracle, domain, { ...header, values }),
        contractDigest(oracle, header.zone, header.round, header.observedAt, values),
        oracle,
      );
    }
  });

  it("signObservation returns the Observation struct, and the signature recovers to the signer", async () => {
    for (const oracle of ORACLE_NAMES) {
      const domain = reportDomain(oracle, CHAIN_ID, ORACLE_ADDRESS);
      const values = SAMPLE_VALUES[oracle];
      const observation = await signObservation(ALICE, oracle, domain, { ...header, values });
      assert.equal(observation.signer, ALICE.address);
      assert.equal(observation.observedAt, header.observedAt);
      assert.deepEqual(observation.values, values);
      assert.notEqual(observation.values, values); // a copy, not the caller's array
      assert.match(observation.signature, /^0x[0-9a-f]{130}$/);
      const digest = contractDigest(oracle, header.zone, header.round, header.observedAt, values);
      assert.equal(await recoverAddress({ hash: digest, signature: observation.signature }), ALICE.address);
    }
  });

  it("a signature does not carry over to another oracle, chain, contract or round", async () => {
    const domain = reportDomain("PriceOracle", CHAIN_ID, ORACLE_ADDRESS);
    const values = SAMPLE_VALUES.PriceOracle;
    const { signature } = await signObservation(BOB, "PriceOracle", domain, { ...header, values });
    const others: Hex[] = [
      reportDigest("PriceOracle", reportDomain("PriceOracle", 1n, ORACLE_ADDRESS), { ...header, values }),
      reportDigest("PriceOracle", reportDomain("PriceOracle", CHAIN_ID, ALICE.address), { ...header, values }),
      reportDigest("PriceOracle", domain, { ...header, round: header.round + 1n, values }),
      reportDigest("PriceOracle", domain, { ...header, values: values.map((v, i) => (i === 0 ? v + 1n : v)) }),
      reportDigest("GridOracle", reportDomain("GridOracle", CHAIN_ID, ORACLE_ADDRESS), {
        ...header,
        values: SAMPLE_VALUES.GridOracle,
      }),
    ];
    for (const hash of others) assert.notEqual(await recoverAddress({ hash, signature }), BOB.address);
  });

  it("reportDomain names the oracle with version 1", () => {
    assert.deepEqual(reportDomain("GridOracle", 5, ORACLE_ADDRESS), {
      name: "GridX GridOracle",
      version: "1",
      chainId: 5,
      verifyingContract: ORACLE_ADDRESS,
    });
  });
});

describe("sortObservations", () => {
  it("orders by strictly ascending signer address, whatever the letter case, without modifying the input", () => {
    const observations = [
      { signer: "0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" as Address, tag: "b" },
      { signer: "0x0000000000000000000000000000000000000001" as Address, tag: "one" },
      { signer: "0xAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" as Address, tag: "A" },
      { signer: "0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab" as Address, tag: "a+1" },
    ];
    const input = [...observations];
    assert.deepEqual(sortObservations(observations).map((o) => o.tag), ["one", "A", "a+1", "b"]);
    assert.deepEqual(observations, input);
  });

  it("sorts real signed observations so that submitReport accepts their order", async () => {
    const domain = reportDomain("GridOracle", CHAIN_ID, ORACLE_ADDRESS);
    const signed = await Promise.all(
      OPERATORS.map((operator) =>
        signObservation(operator, "GridOracle", domain, { zone: 1n, round: 1n, observedAt: 10n, values: SAMPLE_VALUES.GridOracle }),
      ),
    );
    const sorted = sortObservations(signed);
    sorted.slice(1).forEach((o, i) => assert.ok(BigInt(sorted[i]?.signer ?? 0) < BigInt(o.signer)));
    assert.deepEqual(new Set(sorted.map((o) => o.signer)), new Set(OPERATORS.map((o) => o.address)));
  });

  it("refuses two observations of one signer, even in different letter case", () => {
    assert.throws(
      () =>
        sortObservations([
          { signer: "0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" as Address },
          { signer: "0xAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" as Address },
        ]),
      /more than one observation/,
    );
    assert.deepEqual(sortObservations([]), []);
  });
});
