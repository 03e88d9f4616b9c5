import { expect } from "chai";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { network } from "hardhat";
import {
  type OracleName,
  ORACLE_REPORTS,
  reportDomain,
  reportMessage,
  reportTypes,
  reportTypeString,
} from "./helpers/oracleTypedData.js";

const { ethers, networkHelpers } = await network.create();

const ORACLE_OPERATOR = 2n; // Roles.ORACLE_OPERATOR
const QUORUM = 2;
const HEARTBEAT = 3_600;
const TRADING_INTERVAL = 900;
const INT64_MAX = 2n ** 63n - 1n;

type FieldConfig = { min: bigint; max: bigint; maxDeviationBps: number };
const bounds = (min: bigint, max: bigint, maxDeviationBps = 0): FieldConfig => ({ min, max, maxDeviationBps });

/** Deployment configs, in field order, as a production deployment would set them. */
const FIELD_CONFIGS: Record<OracleName, FieldConfig[]> = {
  PriceOracle: [bounds(1n, 10n ** 12n, 2_000), bounds(0n, INT64_MAX), bounds(0n, INT64_MAX)],
  GridOracle: [
    bounds(0n, INT64_MAX),
    bounds(0n, INT64_MAX),
    bounds(0n, 2n),
    bounds(0n, 10_000n),
    bounds(45_000n, 65_000n, 100),
    bounds(0n, 1_000_000n),
    bounds(0n, INT64_MAX),
  ],
  WeatherOracle: [bounds(0n, 1_500n), bounds(-9_000n, 6_000n), bounds(0n, 10_000n), bounds(0n, 6n)],
};

/** One plausible report per oracle; the weather carries a negative (signed) temperature. */
const SAMPLE_VALUES: Record<OracleName, bigint[]> = {
  PriceOracle: [60_000n, 5_000_000n, 4_000_000n],
  GridOracle: [5_000_000n, 6_000_000n, 2n, 8_500n, 50_010n, 230_000n, 2_000_000n],
  WeatherOracle: [120n, -1_250n, 9_000n, 4n],
};

const ORACLES = Object.keys(ORACLE_REPORTS) as OracleName[];

async function deployOracles() {
  const [admin, relay, ...rest] = await ethers.getSigners();
  // submitReport wants observations by strictly ascending signer address.
  const operators = rest.slice(0, 3).sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));

  const manager = await ethers.deployContract("GridXAccessManager", [admin.address]);
  const grid = await ethers.deployContract("GridManagement", [await manager.getAddress(), TRADING_INTERVAL]);
  for (const name of ["Riverside", "Hillside"]) {
    await grid.createZone({
      name,
      treasury: admin.address,
      emissionFactor_gCO2ePerKWh: 233,
      capacityWhPerInterval: 500_000,
      fees: { peakFeeBps: 150, offPeakFeeBps: 50, peakStartHour: 17, peakEndHour: 21 },
      limits: { minOrderWh: 100, maxOrderWh: 1_000_000, maxDailyTradedWhPerAccount: 5_000_000 },
    });
  }
  for (const operator of operators) {
    await manager.grantRole(ORACLE_OPERATOR, operator.address, 0);
  }

  const args = (oracle: OracleName) => [manager, grid, QUORUM, HEARTBEAT, FIELD_CONFIGS[oracle]];
  const oracles = {
    PriceOracle: await ethers.deployContract("PriceOracle", args("PriceOracle")),
    GridOracle: await ethers.deployContract("GridOracle", args("GridOracle")),
    WeatherOracle: await ethers.deployContract("WeatherOracle", args("WeatherOracle")),
  };
  const { chainId } = await ethers.provider.getNetwork();
  return { relay, operators, oracles, chainId, zone: 1n, otherZone: 2n };
}

interface Signed {
  zone: bigint;
  round: bigint;
  observedAt: bigint;
  values: bigint[];
}

/** Each operator signs `report` exactly as the oracle-bridge does; returns on-chain `Observation`s. */
async function observe(
  signers: HardhatEthersSigner[],
  oracle: OracleName,
  target: { chainId: bigint; verifyingContract: string },
  report: Signed,
) {
  const domain = reportDomain(oracle, target.chainId, target.verifyingContract);
  const message = reportMessage(oracle, report.zone, report.round, report.observedAt, report.values);
  return Promise.all(
    signers.map(async (signer) => ({
      signer: signer.address,
      observedAt: report.observedAt,
      values: report.values,
      signature: await signer.signTypedData(domain, reportTypes(oracle), message),
    })),
  );
}

async function sampleReport(oracle: OracleName, zone: bigint): Promise<Signed> {
  const observedAt = BigInt(await networkHelpers.time.latest());
  return { zone, round: 1n, observedAt, values: SAMPLE_VALUES[oracle] };
}

describe("Oracle EIP-712 signing", function () {
  for (const oracleName of ORACLES) {
    describe(oracleName, function () {
      async function setup() {
        const fixture = await networkHelpers.loadFixture(deployOracles);
        const oracle = fixture.oracles[oracleName];
        const domain = { chainId: fixture.chainId, verifyingContract: await oracle.getAddress() };
        return { ...fixture, oracle, domain };
      }

      describe("domain and types", function () {
        it("matches the contract's eip712Domain()", async function () {
          const { oracle, domain } = await setup();
          const [, name, version, chainId, verifyingContract] = await oracle.eip712Domain();
          expect({ name, version, chainId, verifyingContract }).to.deep.equal(
            reportDomain(oracleName, domain.chainId, domain.verifyingContract),
          );
        });

        it("hashes the type string to REPORT_TYPEHASH", async function () {
          const { oracle } = await setup();
          const { primaryType } = ORACLE_REPORTS[oracleName];
          const encoded = ethers.TypedDataEncoder.from(reportTypes(oracleName)).encodeType(primaryType);
          expect(encoded).to.equal(reportTypeString(oracleName));
          expect(await oracle.REPORT_TYPEHASH()).to.equal(ethers.id(encoded));
        });

        it("yields the digest of reportDigest()", async function () {
          const { oracle, domain, zone } = await setup();
          const report = await sampleReport(oracleName, zone);
          const digest = ethers.TypedDataEncoder.hash(
            reportDomain(oracleName, domain.chainId, domain.verifyingContract),
            reportTypes(oracleName),
            reportMessage(oracleName, report.zone, report.round, report.observedAt, report.values),
          );
          expect(await oracle.reportDigest(report.zone, report.round, report.observedAt, report.values)).to.equal(
            digest,
          );
        });
      });

      describe("submitReport", function () {
        it("accepts a quorum of observations signed with signTypedData", async function () {
          const { oracle, domain, operators, relay, zone } = await setup();
          const report = await sampleReport(oracleName, zone);
          const signers = operators.slice(0, QUORUM);
          const observations = await observe(signers, oracleName, domain, report);

          await expect(oracle.connect(relay).submitReport(zone, report.round, observations))
            .to.emit(oracle, "ReportAccepted")
            .withArgs(
              zone,
              report.round,
              report.observedAt,
              report.values,
              signers.map((s) => s.address),
            );
          const [round, observedAt, , stale, values] = await oracle.latestReport(zone);
          expect([round, observedAt, stale, values]).to.deep.equal([
            report.round,
            report.observedAt,
            false,
            report.values,
          ]);
        });

        it("accepts the next round from all operators", async function () {
          const { oracle, domain, operators, relay, zone } = await setup();
          const first = await sampleReport(oracleName, zone);
          const firstObservations = await observe(operators, oracleName, domain, first);
          await oracle.connect(relay).submitReport(zone, first.round, firstObservations);
          await networkHelpers.time.increase(60);
          const next = { ...first, round: 2n, observedAt: BigInt(await networkHelpers.time.latest()) };
          const nextObservations = await observe(operators, oracleName, domain, next);
          await expect(oracle.connect(relay).submitReport(zone, next.round, nextObservations))
            .to.emit(oracle, "ReportAccepted")
            .withArgs(
              zone,
              next.round,
              next.observedAt,
              next.values,
              operators.map((s) => s.address),
            );
        });

        const tamperings: Array<[string, (o: { observedAt: bigint; values: bigint[] }) => void]> = [
          ["a value", (o) => (o.values = [o.values[0] + 1n, ...o.values.slice(1)])],
          ["observedAt", (o) => (o.observedAt -= 1n)],
        ];
        for (const [what, tamper] of tamperings) {
          it(`reverts with QuorumOracleInvalidSignature when ${what} is tampered`, async function () {
            const { oracle, domain, operators, relay, zone } = await setup();
            const report = await sampleReport(oracleName, zone);
            const observations = await observe(operators, oracleName, domain, report);
            tamper(observations[1]);
            await expect(oracle.connect(relay).submitReport(zone, report.round, observations))
              .to.be.revertedWithCustomError(oracle, "QuorumOracleInvalidSignature")
              .withArgs(operators[1].address);
          });
        }

        it("reverts with QuorumOracleInvalidSignature when the round is tampered", async function () {
          const { oracle, domain, operators, relay, zone } = await setup();
          const report = await sampleReport(oracleName, zone);
          const observations = await observe(operators, oracleName, domain, report);
          await expect(oracle.connect(relay).submitReport(zone, report.round + 1n, observations))
            .to.be.revertedWithCustomError(oracle, "QuorumOracleInvalidSignature")
            .withArgs(operators[0].address);
        });

        it("reverts with QuorumOracleInvalidSignature when the zone is tampered", async function () {
          const { oracle, domain, operators, relay, zone, otherZone } = await setup();
          const report = await sampleReport(oracleName, zone);
          const observations = await observe(operators, oracleName, domain, report);
          await expect(oracle.connect(relay).submitReport(otherZone, report.round, observations))
            .to.be.revertedWithCustomError(oracle, "QuorumOracleInvalidSignature")
            .withArgs(operators[0].address);
        });

        it("reverts with QuorumOracleInvalidSignature when signed for another chainId", async function () {
          const { oracle, domain, operators, relay, zone } = await setup();
          const report = await sampleReport(oracleName, zone);
          const otherChain = { ...domain, chainId: domain.chainId + 1n };
          const observations = await observe(operators, oracleName, otherChain, report);
          await expect(oracle.connect(relay).submitReport(zone, report.round, observations))
            .to.be.revertedWithCustomError(oracle, "QuorumOracleInvalidSignature")
            .withArgs(operators[0].address);
        });

        it("reverts with QuorumOracleInvalidSignature when signed for another verifyingContract", async function () {
          const { oracle, oracles, domain, operators, relay, zone } = await setup();
          const other = oracleName === "PriceOracle" ? oracles.GridOracle : oracles.PriceOracle;
          const report = await sampleReport(oracleName, zone);
          const observations = await observe(
            operators,
            oracleName,
            { ...domain, verifyingContract: await other.getAddress() },
            report,
          );
          await expect(oracle.connect(relay).submitReport(zone, report.round, observations))
            .to.be.revertedWithCustomError(oracle, "QuorumOracleInvalidSignature")
            .withArgs(operators[0].address);
        });

        it("reverts with QuorumOracleNotOperator for a signer without the role", async function () {
          const { oracle, domain, operators, relay, zone } = await setup();
          const report = await sampleReport(oracleName, zone);
          const observations = await observe([...operators, relay], oracleName, domain, report);
          observations.sort((a, b) => (BigInt(a.signer) < BigInt(b.signer) ? -1 : 1));
          await expect(oracle.connect(relay).submitReport(zone, report.round, observations))
            .to.be.revertedWithCustomError(oracle, "QuorumOracleNotOperator")
            .withArgs(relay.address);
        });

        it("reverts with QuorumOracleStaleRound when a round is replayed", async function () {
          const { oracle, domain, operators, relay, zone } = await setup();
          const report = await sampleReport(oracleName, zone);
          const observations = await observe(operators, oracleName, domain, report);
          await oracle.connect(relay).submitReport(zone, report.round, observations);
          await expect(oracle.connect(relay).submitReport(zone, report.round, observations))
            .to.be.revertedWithCustomError(oracle, "QuorumOracleStaleRound")
            .withArgs(zone, report.round, report.round);
        });
      });
    });
  }
});
