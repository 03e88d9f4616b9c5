import { expect } from "chai";
import { network } from "hardhat";
import type { TypedDataDomain } from "ethers";
import {
  READING_TYPE_STRING,
  READING_TYPES,
  SMART_METER_DOMAIN_NAME,
  SMART_METER_DOMAIN_VERSION,
  type Reading,
  readingDomain,
  signReading,
} from "./helpers/readingTypedData.ts";

const { ethers, networkHelpers } = await network.create();

/** AccessManager role ids (contracts/libraries/Roles.sol). */
const ORACLE_OPERATOR = 2n;
const METER_REGISTRAR = 3n;

/** `ISmartMeter.MeterKind` and `ISmartMeter.RejectionReason` values used here. */
const SOLAR_PROSUMER = 0n;
const CONSUMER = 1n;
const INVALID_SIGNATURE = 2n;

const INTERVAL_SECONDS = 900n;
const FUTURE_SKEW_SECONDS = 120n;

/** One registered meter: its id, its owner's address and the device key that signs its readings. */
interface MeterHandle {
  id: bigint;
  owner: string;
  device: InstanceType<typeof ethers.Wallet>;
  /** The baseline reading already accepted on-chain. */
  baseline: Reading;
}

/**
 * The metering layer wired as the deployment wires it, with meters that already have their baseline
 * reading (the first accepted reading credits nothing), so every reading the tests post is a
 * steady-state one that credits or books energy.
 */
async function deployMeteringWithBaselines() {
  const [admin, oracleOperator, registrar, prosumer, consumer, other, keeper] = await ethers.getSigners();

  const manager = await ethers.deployContract("GridXAccessManager", [admin.address]);
  const grid = await ethers.deployContract("GridManagement", [await manager.getAddress(), INTERVAL_SECONDS]);
  const smartMeter = await ethers.deployContract("SmartMeter", [
    await manager.getAddress(),
    await grid.getAddress(),
    FUTURE_SKEW_SECONDS,
  ]);
  const token = await ethers.deployContract("EnergyToken", [await smartMeter.getAddress()]);

  const meterAddress = await smartMeter.getAddress();
  await manager.setTargetFunctionRole(
    meterAddress,
    [smartMeter.interface.getFunction("submitReadings").selector],
    ORACLE_OPERATOR,
  );
  await manager.setTargetFunctionRole(
    meterAddress,
    [smartMeter.interface.getFunction("registerMeter").selector],
    METER_REGISTRAR,
  );
  await manager.grantRole(ORACLE_OPERATOR, oracleOperator.address, 0);
  await manager.grantRole(METER_REGISTRAR, registrar.address, 0);
  await smartMeter.setEnergyToken(await token.getAddress());
  await grid.createZone({
    name: "Riverside",
    treasury: admin.address,
    emissionFactor_gCO2ePerKWh: 233,
    capacityWhPerInterval: 500_000,
    fees: { peakFeeBps: 150, offPeakFeeBps: 50, peakStartHour: 17, peakEndHour: 21 },
    limits: { minOrderWh: 100, maxOrderWh: 1_000_000, maxDailyTradedWhPerAccount: 5_000_000 },
  });

  const asRegistrar = smartMeter.connect(registrar);
  const asOracle = smartMeter.connect(oracleOperator);
  const domain = await readingDomain(smartMeter);
  const baselineTimestamp = BigInt(await networkHelpers.time.latest()) - INTERVAL_SECONDS;

  const register = async (
    owner: string,
    kind: bigint,
    ratedCapacityW: number,
    serial: string,
    baselineRegisters: { productionWh: bigint; consumptionWh: bigint },
  ): Promise<MeterHandle> => {
    const device = new ethers.Wallet(ethers.id(`gridx/test/device/${serial}`));
    await asRegistrar.registerMeter(owner, 1, kind, device.address, ratedCapacityW, serial);
    const id = await smartMeter.meterCount();
    const baseline: Reading = {
      meterId: id,
      seq: 1n,
      timestamp: baselineTimestamp,
      ...baselineRegisters,
      voltage_mV: 230_000n,
      frequency_mHz: 50_000n,
    };
    await asOracle.submitReadings([baseline], [await signReading(device, domain, baseline)]);
    return { id, owner, device, baseline };
  };

  const solar = await register(prosumer.address, SOLAR_PROSUMER, 5_000, "RSD-SOLAR-0001", {
    productionWh: 1_204_311n,
    consumptionWh: 402_118n,
  });
  const household = await register(consumer.address, CONSUMER, 3_000, "RSD-HOUSE-0002", {
    productionWh: 0n,
    consumptionWh: 3_518_022n,
  });
  // The household's twin (same registers, same baseline time) under another key: a household reading
  // re-addressed to it is valid in every respect but its signature.
  const neighbour = await register(other.address, CONSUMER, 3_000, "RSD-HOUSE-0003", {
    productionWh: household.baseline.productionWh,
    consumptionWh: household.baseline.consumptionWh,
  });

  return { smartMeter, asOracle, token, domain, solar, household, neighbour, keeper };
}

/** The next reading of a meter, `INTERVAL_SECONDS` after its baseline, with the given register deltas. */
function nextReading(meter: MeterHandle, producedWh: bigint, consumedWh: bigint): Reading {
  return {
    meterId: meter.id,
    seq: meter.baseline.seq + 1n,
    timestamp: meter.baseline.timestamp + INTERVAL_SECONDS,
    productionWh: meter.baseline.productionWh + producedWh,
    consumptionWh: meter.baseline.consumptionWh + consumedWh,
    voltage_mV: 231_400n,
    frequency_mHz: 49_980n,
  };
}

/** The arguments `ReadingAccepted` carries for `reading`, in event order. */
function acceptedArgs(reading: Reading, surplusWh: bigint, deficitWh: bigint) {
  const { meterId, seq, timestamp, productionWh, consumptionWh, voltage_mV, frequency_mHz } = reading;
  return [meterId, seq, timestamp, productionWh, consumptionWh, voltage_mV, frequency_mHz, surplusWh, deficitWh] as const;
}

type Outcome = {
  accepted: Array<[meterId: bigint, seq: bigint]>;
  rejected: Array<[meterId: bigint, seq: bigint, reason: bigint]>;
  claimed: Array<[meterId: bigint, amountWh: bigint]>;
};

describe("SmartMeter", function () {
  describe("reading signatures (EIP-712, signed as the oracle-bridge signs)", function () {
    it("uses the Reading type and domain the contract declares", async function () {
      const { smartMeter, domain, solar } = await networkHelpers.loadFixture(deployMeteringWithBaselines);
      const { chainId } = await ethers.provider.getNetwork();

      expect(await smartMeter.READING_TYPEHASH()).to.equal(ethers.id(READING_TYPE_STRING));
      expect(ethers.TypedDataEncoder.from({ Reading: [...READING_TYPES.Reading] }).encodeType("Reading")).to.equal(
        READING_TYPE_STRING,
      );
      expect(domain).to.deep.equal({
        name: SMART_METER_DOMAIN_NAME,
        version: SMART_METER_DOMAIN_VERSION,
        chainId,
        verifyingContract: await smartMeter.getAddress(),
      });
      const reading = nextReading(solar, 800n, 150n);
      expect(await smartMeter.readingDigest(reading)).to.equal(
        ethers.TypedDataEncoder.hash(domain, { Reading: [...READING_TYPES.Reading] }, reading),
      );
    });

    it("accepts signed readings, credits the surplus to the meter and books the uncovered deficit", async function () {
      const { smartMeter, asOracle, token, domain, solar, household } =
        await networkHelpers.loadFixture(deployMeteringWithBaselines);
      const sunny = nextReading(solar, 812n, 147n); // surplus 665 Wh
      const evening = nextReading(household, 0n, 486n); // deficit 486 Wh
      const signatures = [await signReading(solar.device, domain, sunny), await signReading(household.device, domain, evening)];

      expect(await asOracle.submitReadings.staticCall([sunny, evening], signatures)).to.equal(2n);
      const tx = asOracle.submitReadings([sunny, evening], signatures);

      await expect(tx)
        .to.emit(smartMeter, "ReadingAccepted")
        .withArgs(...acceptedArgs(sunny, 665n, 0n))
        .and.to.emit(smartMeter, "ReadingAccepted")
        .withArgs(...acceptedArgs(evening, 0n, 486n));
      // A reading credits the meter; nothing is minted until someone claims.
      await expect(tx).to.not.emit(token, "Transfer");
      await expect(tx).to.not.emit(smartMeter, "CreditsClaimed");
      expect(await smartMeter.claimableCredits(solar.id)).to.equal(665n);
      expect(await smartMeter.claimableCredits(household.id)).to.equal(0n);
      expect(await smartMeter.uncoveredConsumption(household.id)).to.equal(486n);
      expect(await smartMeter.uncoveredConsumption(solar.id)).to.equal(0n);
      expect((await smartMeter.getMeter(solar.id)).claimableWh).to.equal(665n);
      const latest = await smartMeter.getLatestReading(solar.id);
      expect(latest).to.have.lengthOf(4); // voltage and frequency live only in the event
      expect([latest.seq, latest.timestamp, latest.productionWh, latest.consumptionWh]).to.deep.equal([
        sunny.seq,
        sunny.timestamp,
        sunny.productionWh,
        sunny.consumptionWh,
      ]);
    });

    it("lets a third party claim a meter's credits, which are minted to the meter's owner", async function () {
      const { smartMeter, asOracle, token, domain, solar, household, keeper } =
        await networkHelpers.loadFixture(deployMeteringWithBaselines);
      const sunny = nextReading(solar, 812n, 147n); // surplus 665 Wh
      const evening = nextReading(household, 0n, 486n); // deficit 486 Wh: nothing to claim
      await asOracle.submitReadings(
        [sunny, evening],
        [await signReading(solar.device, domain, sunny), await signReading(household.device, domain, evening)],
      );
      const asKeeper = smartMeter.connect(keeper);
      expect(keeper.address).to.not.be.oneOf([solar.owner, household.owner]);

      expect(await asKeeper.claimCredits.staticCall([solar.id, household.id])).to.equal(665n);
      const tx = asKeeper.claimCredits([solar.id, household.id]);

      await expect(tx).to.emit(smartMeter, "CreditsClaimed").withArgs(solar.id, solar.owner, 665n);
      await expect(tx).to.changeTokenBalances(ethers, token, [solar.owner, household.owner, keeper], [665n, 0n, 0n]);
      expect(await outcomeOf(smartMeter, await tx)).to.deep.equal({ accepted: [], rejected: [], claimed: [[solar.id, 665n]] });
      expect(await smartMeter.claimableCredits(solar.id)).to.equal(0n);
      expect(await smartMeter.uncoveredConsumption(household.id)).to.equal(486n);
    });

    describe("rejects with ReadingRejected(meterId, seq, InvalidSignature) and accepts the rest of the batch", function () {
      /**
       * Posts `[bad, good]`, `good` being a correctly signed surplus reading of the solar meter, and checks
       * that exactly `bad` is refused, for its signature, and leaves its meter untouched, while `good` is
       * still credited.
       */
      async function expectOnlyBadRefused(
        fixture: Awaited<ReturnType<typeof deployMeteringWithBaselines>>,
        bad: { reading: Reading; signature: string },
      ) {
        const { smartMeter, asOracle, domain, solar } = fixture;
        const good = nextReading(solar, 700n, 100n); // surplus 600 Wh
        const goodSignature = await signReading(solar.device, domain, good);
        const badMeterBefore = await smartMeter.getMeter(bad.reading.meterId);
        const badLatestBefore = await smartMeter.getLatestReading(bad.reading.meterId);

        const tx = await asOracle.submitReadings([bad.reading, good], [bad.signature, goodSignature]);

        await expect(tx)
          .to.emit(smartMeter, "ReadingRejected")
          .withArgs(bad.reading.meterId, bad.reading.seq, INVALID_SIGNATURE)
          .and.to.emit(smartMeter, "ReadingAccepted")
          .withArgs(...acceptedArgs(good, 600n, 0n));
        expect(await outcomeOf(smartMeter, tx)).to.deep.equal({
          accepted: [[solar.id, good.seq]],
          rejected: [[bad.reading.meterId, bad.reading.seq, INVALID_SIGNATURE]],
          claimed: [],
        });
        expect(await smartMeter.claimableCredits(solar.id)).to.equal(600n);
        if (bad.reading.meterId !== solar.id) {
          expect(await smartMeter.getMeter(bad.reading.meterId)).to.deep.equal(badMeterBefore);
          expect(await smartMeter.getLatestReading(bad.reading.meterId)).to.deep.equal(badLatestBefore);
        }
      }

      /** Each tamper keeps the reading otherwise valid, so only the signature can refuse it. */
      const tampers: Array<[field: keyof Reading, tamper: (r: Reading, neighbourId: bigint) => Reading]> = [
        ["meterId", (r, neighbourId) => ({ ...r, meterId: neighbourId })],
        ["seq", (r) => ({ ...r, seq: r.seq + 1n })],
        ["timestamp", (r) => ({ ...r, timestamp: r.timestamp - 60n })],
        ["productionWh", (r) => ({ ...r, productionWh: r.productionWh + 100n })],
        ["consumptionWh", (r) => ({ ...r, consumptionWh: r.consumptionWh - 100n })],
        ["voltage_mV", (r) => ({ ...r, voltage_mV: r.voltage_mV + 1n })],
        ["frequency_mHz", (r) => ({ ...r, frequency_mHz: r.frequency_mHz - 1n })],
      ];

      for (const [field, tamper] of tampers) {
        it(`when ${field} was changed after signing`, async function () {
          const fixture = await networkHelpers.loadFixture(deployMeteringWithBaselines);
          const { domain, household, neighbour } = fixture;
          const signed = nextReading(household, 0n, 486n);
          const signature = await signReading(household.device, domain, signed);
          const tampered = tamper(signed, neighbour.id);
          expect(tampered[field]).to.not.equal(signed[field]);

          await expectOnlyBadRefused(fixture, { reading: tampered, signature });
          expect(await fixture.smartMeter.uncoveredConsumption(household.id)).to.equal(0n);
        });
      }

      it("when another key signed it", async function () {
        const fixture = await networkHelpers.loadFixture(deployMeteringWithBaselines);
        const { domain, household } = fixture;
        const reading = nextReading(household, 0n, 486n);
        const impostor = new ethers.Wallet(ethers.id("gridx/test/device/impostor"));

        await expectOnlyBadRefused(fixture, { reading, signature: await signReading(impostor, domain, reading) });
      });

      const foreignDomains: Array<[what: string, change: (domain: TypedDataDomain) => Promise<TypedDataDomain>]> = [
        ["the domain has another chainId", async (domain) => ({ ...domain, chainId: 1n })],
        [
          "the domain names another verifyingContract",
          async (domain) => ({ ...domain, verifyingContract: ethers.getAddress(ethers.dataSlice(ethers.id("elsewhere"), 12)) }),
        ],
      ];

      for (const [what, change] of foreignDomains) {
        it(`when ${what}`, async function () {
          const fixture = await networkHelpers.loadFixture(deployMeteringWithBaselines);
          const { domain, household } = fixture;
          const reading = nextReading(household, 0n, 486n);
          const signature = await signReading(household.device, await change(domain), reading);

          await expectOnlyBadRefused(fixture, { reading, signature });
        });
      }
    });
  });
});

/** Every ReadingAccepted / ReadingRejected / CreditsClaimed of a transaction, in log order. */
async function outcomeOf(
  smartMeter: Awaited<ReturnType<typeof deployMeteringWithBaselines>>["smartMeter"],
  tx: { wait(): Promise<{ logs: ReadonlyArray<{ topics: ReadonlyArray<string>; data: string }> } | null> },
): Promise<Outcome> {
  const receipt = await tx.wait();
  const outcome: Outcome = { accepted: [], rejected: [], claimed: [] };
  for (const log of receipt?.logs ?? []) {
    const parsed = smartMeter.interface.parseLog({ topics: [...log.topics], data: log.data });
    if (parsed?.name === "ReadingAccepted") outcome.accepted.push([parsed.args.meterId, parsed.args.seq]);
    if (parsed?.name === "ReadingRejected") {
      outcome.rejected.push([parsed.args.meterId, parsed.args.seq, parsed.args.reason]);
    }
    if (parsed?.name === "CreditsClaimed") outcome.claimed.push([parsed.args.meterId, parsed.args.amountWh]);
  }
  return outcome;
}
