/**
 * Gas benchmark of the GridX hot paths, measured from the receipts of real transactions sent to the
 * system exactly as `ignition/modules/GridX.ts` deploys it, on an in-process Hardhat network.
 *
 *   npm run bench:gas                 aligned table
 *   npm run -s bench:gas -- --json    one JSON object on stdout and nothing else (`-s` drops npm's banner)
 *   npm run bench:gas -- --snapshot   also write gas-snapshot.json (operation id → gasUsed); commit it
 *   npm run bench:gas -- --check      also exit 1 when the per-reading target is missed, or when any operation
 *                                     costs more than 1 % above gas-snapshot.json, or an operation is new or
 *                                     gone (CI); `npm run bench:gas:snapshot` rewrites the snapshot
 *   npm run bench:gas -- --trace take1,cancel
 *                                    also print where those operations' execution gas goes: per contract
 *                                    (call depth) and opcode class, and every SSTORE / cold SLOAD / LOG
 *
 * Every row reports the receipt's gasUsed and the execution gas (gasUsed − 21,000 − calldata gas), the
 * figure `hardhat test --gas-stats` and forge gas reports show per call.
 *
 * Metering. Steady state is the everyday case and the one the target (≤ 25,000 gas per reading in a
 * batch of 50, signature check included) is judged on: every meter already has its baseline and an earlier
 * reading the same UTC day. A reading credits its surplus to the meter; `claimCredits` mints the credits
 * to the owners later, so the claim rows show what minting costs per meter: steady when the owner already
 * holds credits, cold when it is the owner's first (a zero token balance becomes non-zero). The other
 * cold row is the first reading of a UTC day. Every reading is asserted to be accepted and to move the
 * meter's claimable credits or uncovered consumption by exactly its surplus or deficit, and every claim
 * to mint each meter's credits to its owner, so a silently rejected reading or an empty claim can never
 * flatter the numbers.
 *
 * Market. Traders earn their credits through meters and claims, deposit into Settlement and trade on
 * EnergyTrading with a fresh reference price (bands apply): vault deposits and a withdrawal, resting orders,
 * a cancel, takes against 1, 10 and 50 distinct makers, the makers' settlement (claimFills), a Dutch auction
 * and matchOrders (see `market`). The
 * issue's execution-gas targets for the market are printed as met / NOT met and never fail the run.
 *
 * The run is deterministic (fixed keys, clock and values), so its gas is committed as gas-snapshot.json.
 */
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import hre from "hardhat";
import { Interface, type TransactionReceipt, type TransactionResponse } from "ethers";
import { type OracleName, reportDomain, reportMessage, reportTypes } from "../test/helpers/oracleTypedData.ts";
import { type Reading, readingDomain, signReading } from "../test/helpers/readingTypedData.ts";

const TARGET_GAS_PER_READING = 25_000;
const TARGET_BATCH_SIZE = 50;

const INTERVAL = 900n; // seconds between two readings of a meter: one trading interval
const DAY = 86_400n;
/** Day 0 of the bench clock, 2035-06-15 UTC: fixed, and ahead of any wall clock the chain starts at. */
const DAY_ZERO = BigInt(Date.UTC(2035, 5, 15)) / 1000n;
/** Baselines at 10:00 UTC on day 0, a sunny mid-morning. */
const BASELINE_AT = DAY_ZERO + 10n * 3_600n;

const SOLAR_PROSUMER = 0;
const CONSUMER = 1;
const ZONE = 1n;

/** Hardhat account indices: #12 claims credits and calls matchOrders; #13–#15 trade (see `market`). */
const KEEPER = 12;
/** IEnergyTrading.Side */
const BUY = 0;
const SELL = 1;
const TAKER = 13;
/** #19 owns an energy asset and #18 buys 40 % of its shares. */
const ASSET_OWNER = 19;
const ASSET_PARTNER = 18;
/** GreenCertificate's issue event, to read the certificates a redemption issued. */
const CERTIFICATE_EVENTS = new Interface([
  "event CertificatesIssued(address indexed to, uint256 indexed id, uint32 indexed zone, uint32 month, uint256 amountWh, uint256 gCO2e)",
]);
const BIDDER = 14;
const SELLER = 15;

/** The market section's clock: day 1 of the bench, 12:00 UTC (off-peak), one block per second from there. */
const MARKET_AT = DAY_ZERO + DAY + 12n * 3_600n;
/** Distinct maker accounts, each with its own solar meter: enough for the largest take. */
const MAKERS = 50;
/** Every order is the zones' minimum size, 0.1 kWh. */
const LOT_WH = 100n;
/** Payment-token base units per kWh (6 mUSD/kWh, on the 1,000 tick): the makers' asks and the takers' limit. */
const ASK = 6_000_000n;
const BACKGROUND_ASK = 6_100_000n;
/** Between ASK and BACKGROUND_ASK (same bitmap word), used only by the first-take row. */
const FIRST_TAKE_ASK = 6_050_000n;
const BID = 5_990_000n;
const NEW_LEVEL_BID = 5_980_000n;
const DUTCH = { start: 6_400_000n, floor: 5_600_000n, window: 300n };
/** The price round reported at MARKET_AT (pricePerKWh, supplyW, demandW), so the bands apply to every trade. */
const MARKET_PRICE_ROUND = [6_200_000n, 1_900_000n, 2_000_000n];
const ORDER_TTL = DAY;

/** The execution-gas targets for the market (met or not, they never fail the run). */
const MARKET_TARGETS = {
  restExistingLevel: 65_000,
  restNewLevel: 100_000,
  cancel: 30_000,
  takeBase: 55_000,
  takePerMaker: 12_000,
} as const;
/** The governance issue's execution-gas targets (reported like the market's). */
const GOVERNANCE_TARGETS = { castVote: 90_000, redeemWithCertificate: 80_000 } as const;
const TAKE_ROWS = [
  ["take1", 1],
  ["take10", 10],
  ["take50", 50],
] as const;

/** The committed gas snapshot (operation id → receipt gasUsed) that `--check` compares against. */
const SNAPSHOT_FILE = new URL("../gas-snapshot.json", import.meta.url);
/** `--check` fails when an operation costs more than its snapshot by more than this fraction. */
const SNAPSHOT_TOLERANCE = 0.01;
const SNAPSHOT_COMMAND = "npm run bench:gas:snapshot";

/** Intrinsic gas of a call transaction, and of its calldata per zero / non-zero byte (EIP-2028). */
const TX_BASE_GAS = 21_000;
const CALLDATA_ZERO_BYTE_GAS = 4;
const CALLDATA_NONZERO_BYTE_GAS = 16;

interface Row {
  id: string;
  operation: string;
  /** Readings, meters claimed or oracle signatures the transaction carries. */
  items: number;
  gasUsed: number;
  gasPerItem: number;
  /** gasUsed − 21,000 − calldata gas: what the call itself executed, as `hardhat test --gas-stats` reports. */
  executionGas: number;
}

/** One of the market targets, judged on execution gas. */
interface MarketTarget {
  id: string;
  target: string;
  limit: number;
  executionGas: number;
  met: boolean;
}

interface Target {
  gasPerReadingInBatchOf50: number;
  measuredGasPerReading: number;
  marginalGasPerReading: number;
  met: boolean;
}

type Connection = Awaited<ReturnType<typeof hre.network.create>>;
type Ethers = Connection["ethers"];
/** A Hardhat account or a keyed wallet: whoever sends a market transaction. */
type Trader = Awaited<ReturnType<Ethers["getSigner"]>> | InstanceType<Ethers["Wallet"]>;

interface BenchMeter {
  id: bigint;
  owner: string;
  device: InstanceType<Ethers["Wallet"]>;
  ratedCapacityW: bigint;
  last: Reading;
}

type Interval = (meter: BenchMeter, index: number) => [producedWh: bigint, consumedWh: bigint];
type Expectation = "baseline" | "surplus" | "deficit";
/** Whether a claim's owners already hold credits (steady) or are getting their first (cold). */
type OwnerBalances = "steady" | "cold";

/** What one reading should do to its meter's accounting. */
interface ExpectedReading {
  reading: Reading;
  surplusWh: bigint;
  deficitWh: bigint;
}

/** A meter's accounting as the SmartMeter views report it. */
interface MeterAccounts {
  claimableWh: bigint;
  uncoveredWh: bigint;
}

/** A sunny 15-minute interval: the array yields 65–85 % of its rating; the home uses 0.1–0.3 kWh. */
const solarInterval: Interval = (meter, i) => [
  (meter.ratedCapacityW * (650n + BigInt((i * 37) % 200))) / 4_000n,
  100n + BigInt((i * 53) % 200),
];
/** A 15-minute household interval: nothing produced, 0.2–0.6 kWh used. */
const householdInterval: Interval = (_meter, i) => [0n, 200n + BigInt((i * 61) % 400)];

const ORACLE_ROUNDS: Record<OracleName, { id: string; rounds: [bigint[], bigint[]] }> = {
  // pricePerKWh (payment-token base units: 6 mUSD = 6_000_000), supplyW, demandW
  PriceOracle: { id: "price", rounds: [[6_000_000n, 1_800_000n, 2_100_000n], [6_300_000n, 1_850_000n, 2_050_000n]] },
  // supplyW, demandW, status (2 = Shortage), healthBps, frequency_mHz, voltage_mV, headroomW
  GridOracle: {
    id: "grid",
    rounds: [
      [1_800_000n, 2_100_000n, 2n, 8_500n, 49_980n, 230_400n, 400_000n],
      [1_850_000n, 2_050_000n, 2n, 8_700n, 49_990n, 230_100n, 420_000n],
    ],
  },
  // irradiance_Wm2, temperature_cC, cloudCoverBps, condition (1 = PartlyCloudy)
  WeatherOracle: { id: "weather", rounds: [[640n, 2_150n, 3_500n, 1n], [655n, 2_180n, 3_300n, 1n]] },
};

async function run(json: boolean): Promise<{ output: string; target: Target; rows: Row[] }> {
  await hre.tasks.getTask("build").run({ quiet: true, noTests: true });
  // Loaded after the build: the module reads the permission table's selectors from the artifacts.
  const { default: GridXModule } = await import("../ignition/modules/GridX.ts");
  const { planFrom, readParametersFile, resolveParametersFile } = await import("../ignition/lib/deploymentPlan.ts");

  const startedAt = performance.now();
  const connection = await hre.network.create();
  const parameters = await readParametersFile(resolveParametersFile());
  const deployed = await connection.ignition.deploy(GridXModule, { parameters });
  const plan = planFrom(parameters);
  const quorum = parameters.GridXOracles?.quorum;
  if (typeof quorum !== "number") throw new Error("GridXOracles.quorum must be a number");
  const accounts = { meterRegistrar: plan.meterRegistrars[0], oracleOperators: plan.oracleOperators, quorum };
  const bench = new Bench(connection, accounts, {
    smartMeter: await deployed.smartMeter.getAddress(),
    energyToken: await deployed.energyToken.getAddress(),
    PriceOracle: await deployed.priceOracle.getAddress(),
    GridOracle: await deployed.gridOracle.getAddress(),
    WeatherOracle: await deployed.weatherOracle.getAddress(),
  });

  await bench.readingsClaimsAndRedeem();
  await bench.oracleReports();
  await bench.market({
    settlement: await deployed.settlement.getAddress(),
    energyTrading: await deployed.energyTrading.getAddress(),
    mockStablecoin: await deployed.mockStablecoin.getAddress(),
  });

  await bench.certificatesAndAssets({
    greenCertificate: await deployed.greenCertificate.getAddress(),
    energyAssetNft: await deployed.energyAssetNft.getAddress(),
  });
  const holders = parameters.GridXGovernance?.tokenRecipients;
  if (!Array.isArray(holders) || holders.length < 2) throw new Error("GridXGovernance.tokenRecipients needs two holders");
  await bench.governance({
    governanceToken: await deployed.governanceToken.getAddress(),
    energyGovernor: await deployed.energyGovernor.getAddress(),
    gridManagement: await deployed.gridManagement.getAddress(),
    holders: holders as string[],
  });

  const target = bench.target();
  const marketTargets = bench.marketTargets();
  if (json) {
    const { version, settings } = hre.config.solidity.profiles.default.compilers[0];
    const { evmVersion, optimizer, viaIR = false } = settings as { evmVersion?: string; optimizer?: unknown; viaIR?: boolean };
    const hardfork = "hardfork" in connection.networkConfig ? connection.networkConfig.hardfork : undefined;
    const output = `${JSON.stringify({
      solc: { version, evmVersion, optimizer, viaIR },
      chain: { hardfork },
      target,
      marketTargets,
      operations: bench.rows,
    })}\n`;
    return { output, target, rows: bench.rows };
  }
  const seconds = (performance.now() - startedAt) / 1000;
  return { output: renderTable(bench.rows, target, marketTargets, seconds), target, rows: bench.rows };
}

/** Who registers meters and who signs oracle reports (the first operator also relays readings). */
interface BenchAccounts {
  meterRegistrar: string;
  oracleOperators: string[];
  quorum: number;
}

/** Certificates and assets as deployed. */
interface AssetAddresses {
  greenCertificate: string;
  energyAssetNft: string;
}

/** The governance contracts as deployed, and the token holders of the parameters file. */
interface GovernanceAddresses {
  governanceToken: string;
  energyGovernor: string;
  gridManagement: string;
  holders: string[];
}

/** The market contracts as deployed. */
interface MarketAddresses {
  settlement: string;
  energyTrading: string;
  mockStablecoin: string;
}

class Bench {
  readonly rows: Row[] = [];
  readonly #ethers: Ethers;
  readonly #time: Connection["networkHelpers"]["time"];
  readonly #setBalance: Connection["networkHelpers"]["setBalance"];
  /** The timestamp of the last market transaction (see `#stamped`). */
  #marketClock = MARKET_AT;
  /** The certificates the bench redemption issued (retired in `certificatesAndAssets`). */
  #certificate: { holder: string; id: bigint; amountWh: bigint } | undefined;
  readonly #accounts: BenchAccounts;
  readonly #addresses: Record<"smartMeter" | "energyToken" | OracleName, string>;

  constructor(
    connection: Connection,
    accounts: BenchAccounts,
    addresses: Record<"smartMeter" | "energyToken" | OracleName, string>,
  ) {
    this.#ethers = connection.ethers;
    this.#time = connection.networkHelpers.time;
    this.#setBalance = (address, balance) => connection.networkHelpers.setBalance(address, balance);
    this.#accounts = accounts;
    this.#addresses = addresses;
  }

  /** Meter registration, reading batches (steady and cold), credit claims (steady and cold) and a redemption. */
  async readingsClaimsAndRedeem(): Promise<void> {
    const ethers = this.#ethers;
    const { smartMeter, energyToken, registerMeters, post, claim } = await this.#metering();
    const signers = await ethers.getSigners();
    // Two funded accounts own the first prosumer meter and the first household meter, so credits can move
    // to a consumer and be redeemed; every other owner is a distinct address, as real households are.
    const [creditSeller, creditBuyer, neighbour] = [signers[10], signers[11], signers[ASSET_OWNER]];

    await this.#time.increaseTo(BASELINE_AT - 3_600n);
    const { meters: solar } = await registerMeters(SOLAR_PROSUMER, "SOLAR", TARGET_BATCH_SIZE, (i) => (i === 0 ? creditSeller.address : undefined));
    // Household 2 (zone 1, like household 0) belongs to a neighbour who redeems first each month (see below).
    const { meters: households, lastReceipt } = await registerMeters(CONSUMER, "HOUSE", TARGET_BATCH_SIZE, (i) =>
      i === 0 ? creditBuyer.address : i === 2 ? neighbour.address : undefined,
    );
    await this.#record("registerMeter", "register meter", 1, lastReceipt);
    // Two more prosumers: the pioneer's claim is the system's first mint, the newcomer's the cold single claim.
    const { meters: [pioneer, newcomer] } = await registerMeters(SOLAR_PROSUMER, "NEWCOMER", 2);
    const at = (day: bigint, secondsIntoDay: bigint) => DAY_ZERO + day * DAY + secondsIntoDay;
    const afterBaseline = (intervals: bigint) => BASELINE_AT + intervals * INTERVAL;

    // 10:00 — baselines: a meter's first accepted reading records its registers and credits nothing.
    await this.#record("baseline50", "baseline: first reading of a meter ×50", 50, await post(solar, BASELINE_AT, solarInterval, "baseline"));
    await post(households, BASELINE_AT, householdInterval, "baseline");
    await post([pioneer, newcomer], BASELINE_AT, solarInterval, "baseline");

    // 10:15 — each meter's first interval after its baseline: its first credit or debt, accrued on the meter.
    await post(solar, afterBaseline(1n), solarInterval, "surplus");
    await post(households, afterBaseline(1n), householdInterval, "deficit");
    await post([pioneer, newcomer], afterBaseline(1n), solarInterval, "surplus");

    // 10:30, 10:45, 11:00 — steady state: a reading earlier the same UTC day.
    for (const [size, intervals] of [[1, 2n], [10, 3n], [TARGET_BATCH_SIZE, 4n]] as const) {
      const receipt = await post(solar.slice(0, size), afterBaseline(intervals), solarInterval, "surplus");
      await this.#record(`steadySurplus${size}`, `steady: prosumer readings (surplus) ×${size}`, size, receipt);
    }
    const deficit = await post(households, afterBaseline(4n), householdInterval, "deficit");
    await this.#record(`steadyDeficit${TARGET_BATCH_SIZE}`, `steady: consumer readings (deficit) ×${TARGET_BATCH_SIZE}`, TARGET_BATCH_SIZE, deficit);

    // Day 1, 00:15 — the first reading of a new UTC day closes the meter's previous day.
    await this.#record("coldNewDay50", "cold: first reading of a UTC day ×50", 50, await post(solar, at(1n, INTERVAL), solarInterval, "surplus"));

    // Claims. The system's first mint takes the token's total supply from zero, a one-off no row should carry;
    // every other owner's balance is still zero, so each mint below is the owner's first credit.
    await claim([pioneer], "cold");
    await this.#record("claimCold1", "cold: claimCredits, owner's first credit ×1", 1, await claim([newcomer], "cold"));
    await this.#record("claimCold50", "cold: claimCredits, owners' first credits ×50", 50, await claim(solar, "cold"));

    // Day 1, 00:30 — the meters earn again; now every owner already holds credits.
    await post(solar, at(1n, 2n * INTERVAL), solarInterval, "surplus");
    await this.#record("claimSteady1", "steady: claimCredits, owner holds credits ×1", 1, await claim(solar.slice(0, 1), "steady"));
    // Day 1, 00:45 — the meter just claimed earns again, so the batch claim has credits on every meter.
    await post(solar.slice(0, 1), at(1n, 3n * INTERVAL), solarInterval, "surplus");
    await this.#record("claimSteady50", "steady: claimCredits, owners hold credits ×50", 50, await claim(solar, "steady"));

    // A household that bought claimed credits redeems part of them against part of its uncovered consumption.
    if ((await energyToken.balanceOf(creditSeller.address)) < 1_000n) throw new Error("the seller has claimed too few credits");
    await mined(energyToken.connect(creditSeller).transfer(creditBuyer.address, 1_000n));
    const householdMeter = households[0].id;
    if ((await smartMeter.uncoveredConsumption(householdMeter)) <= 100n) throw new Error("household has too little debt");
    // The month's first redemption in the zone creates the certificate id (its supply slot, and the zone's
    // emission factor read from GridManagement); every later one, like the household's below, finds it.
    await mined(energyToken.connect(creditSeller).transfer(neighbour.address, 100n));
    const first = await mined(energyToken.connect(neighbour).redeem(households[2].id, 100n));
    await this.#record("redeemFirstOfMonth", "redeem, the zone's first certificates of the month", 1, first);
    const redeemed = await mined(energyToken.connect(creditBuyer).redeem(householdMeter, 100n));
    await this.#record("redeem", "redeem with certificate issue (redeemer's first of the month)", 1, redeemed);
    // Every credit so far came from solar meters, so the whole redemption is renewable: 100 Wh of certificates.
    const issued = redeemed.logs.flatMap((log) => {
      const parsed = CERTIFICATE_EVENTS.parseLog(log);
      return parsed?.name === "CertificatesIssued" ? [parsed] : [];
    });
    if (issued.length !== 1 || issued[0].args.to !== creditBuyer.address || issued[0].args.amountWh !== 100n) {
      throw new Error("redeem: expected one CertificatesIssued of 100 Wh to the redeemer");
    }
    this.#certificate = { holder: creditBuyer.address, id: issued[0].args.id as bigint, amountWh: 100n };
  }

  /**
   * Green certificates and energy assets: the redeemer retires half its certificates for a named company; a
   * prosumer mints an asset for its new meter, hands the meter to the registry, splits the asset into 10
   * shares, gives 4 to a partner, and claims its share of what the meter earned next (the claim first
   * pulls the meter's credits from SmartMeter).
   */
  async certificatesAndAssets(addresses: AssetAddresses): Promise<void> {
    const ethers = this.#ethers;
    const { smartMeter, energyToken, registerMeters, post } = await this.#metering();
    const certificate = await ethers.getContractAt("GreenCertificate", addresses.greenCertificate);
    const assets = await ethers.getContractAt("EnergyAssetNFT", addresses.energyAssetNft);
    const signers = await ethers.getSigners();
    const [owner, partner] = [signers[ASSET_OWNER], signers[ASSET_PARTNER]];

    const held = this.#certificate;
    if (held === undefined) throw new Error("no certificates were issued to retire");
    const company = await ethers.getSigner(held.holder);
    const retired = await mined(certificate.connect(company).retire(held.id, held.amountWh / 2n, "Riverside Bakery Ltd"));
    await this.#record("retire", "retire certificates for a named beneficiary", 1, retired);
    if ((await certificate.balanceOf(held.holder, held.id)) !== held.amountWh / 2n) throw new Error("retire: not burned");
    if ((await certificate.totalRetired(held.id)) !== held.amountWh / 2n) throw new Error("retire: not recorded");

    const readingsAt = DAY_ZERO + 2n * DAY + 10n * 3_600n;
    const { meters } = await registerMeters(SOLAR_PROSUMER, "ASSET", 1, () => owner.address);
    const [meter] = meters;
    await post(meters, readingsAt, solarInterval, "baseline");
    const minted = await mined(
      assets.connect(owner).mintAsset(meter.id, 0, Number(meter.ratedCapacityW), readingsAt - 30n * DAY, "Rooftop array, 12 Mill Lane"),
    );
    await this.#record("mintAsset", "mint an energy asset (solar array)", 1, minted);
    const assetId = await assets.assetOfMeter(meter.id);
    if (assetId === 0n || (await assets.ownerOf(assetId)) !== owner.address) throw new Error("mintAsset: no asset");

    const registry = await assets.getAddress();
    await mined(smartMeter.connect(owner).transferMeterOwnership(meter.id, registry));
    meter.owner = registry;
    await mined(assets.connect(owner).fractionalize(assetId, 10n));
    await mined(assets.connect(owner).transferShares(assetId, partner.address, 4n));
    await post(meters, readingsAt + INTERVAL, solarInterval, "surplus");
    const earnedWh = await smartMeter.claimableCredits(meter.id);
    const before = await energyToken.balanceOf(owner.address);
    const claimed = await mined(assets.connect(owner).claimAssetCredits(assetId));
    await this.#record("claimAssetCredits", "claim asset credits (fractional, pulls the meter's credits)", 1, claimed);
    const paid = (await energyToken.balanceOf(owner.address)) - before;
    const partnerOwed = await assets.claimableAssetCredits(assetId, partner.address);
    const { carryWh } = await assets.getDistribution(assetId);
    if (paid === 0n || paid + partnerOwed + carryWh !== earnedWh || paid !== ((earnedWh - carryWh) * 6n) / 10n) {
      throw new Error(`claimAssetCredits: paid ${paid} + partner ${partnerOwed} + carry ${carryWh} ≠ ${earnedWh} pro rata`);
    }
  }

  /**
   * The metering helpers every section uses: register meters, post signed readings (asserting each is applied
   * exactly) and claim credits (asserting each owner is minted exactly its meter's credits).
   */
  async #metering() {
    const ethers = this.#ethers;
    const smartMeter = await ethers.getContractAt("SmartMeter", this.#addresses.smartMeter);
    const energyToken = await ethers.getContractAt("EnergyToken", this.#addresses.energyToken);
    const registrar = await ethers.getSigner(this.#accounts.meterRegistrar);
    const relayer = await ethers.getSigner(this.#accounts.oracleOperators[0]);
    // Claims are sent by a keeper that owns no meter: anyone may claim, and the credits go to the owners.
    const keeper = (await ethers.getSigners())[KEEPER];
    const asRegistrar = smartMeter.connect(registrar);
    const asOracle = smartMeter.connect(relayer);
    const asKeeper = smartMeter.connect(keeper);
    const domain = await readingDomain(smartMeter);

    /** Registers `count` meters; `ownerOf(i)` names meter i's owner, else it is a distinct keyless address. */
    const registerMeters = async (kind: number, label: string, count: number, ownerOf?: (i: number) => string | undefined) => {
      const meters: BenchMeter[] = [];
      let lastReceipt: TransactionReceipt | undefined;
      for (let i = 0; i < count; i++) {
        const device = new ethers.Wallet(ethers.id(`gridx/bench/${label}/device/${i}`));
        const owner =
          ownerOf?.(i) ?? ethers.getAddress(ethers.dataSlice(ethers.id(`gridx/bench/${label}/owner/${i}`), 12));
        const ratedCapacityW = kind === SOLAR_PROSUMER ? 4_000n + BigInt(i % 5) * 1_000n : 3_000n + BigInt(i % 3) * 1_000n;
        const serial = `BENCH-${label}-${String(i).padStart(5, "0")}`;
        lastReceipt = await mined(asRegistrar.registerMeter(owner, 1 + (i % 2), kind, device.address, ratedCapacityW, serial));
        const id = await smartMeter.meterCount();
        meters.push({
          id,
          owner,
          device,
          ratedCapacityW,
          // The registers of a device already in service; seq 0 and time 0 until its baseline.
          last: {
            meterId: id,
            seq: 0n,
            timestamp: 0n,
            productionWh: 1_000_000n + BigInt(i) * 7_919n,
            consumptionWh: 2_000_000n + BigInt(i) * 3_371n,
            voltage_mV: 230_000n,
            frequency_mHz: 50_000n,
          },
        });
      }
      if (lastReceipt === undefined) throw new Error(`no ${label} meter registered`);
      return { meters, lastReceipt };
    };

    const accountsOf = (meters: BenchMeter[]): Promise<MeterAccounts[]> =>
      Promise.all(
        meters.map(async (meter) => ({
          claimableWh: await smartMeter.claimableCredits(meter.id),
          uncoveredWh: await smartMeter.uncoveredConsumption(meter.id),
        })),
      );

    /**
     * Signs and posts one reading per meter stamped `timestamp`; asserts each is accepted and moves its
     * meter's claimable credits and uncovered consumption by exactly its surplus and deficit.
     */
    const post = async (meters: BenchMeter[], timestamp: bigint, interval: Interval, expect: Expectation) => {
      const expected = meters.map((meter, i): ExpectedReading => {
        const [producedWh, consumedWh] = expect === "baseline" ? [0n, 0n] : interval(meter, i);
        return {
          reading: advance(meter, timestamp, producedWh, consumedWh),
          surplusWh: producedWh > consumedWh ? producedWh - consumedWh : 0n,
          deficitWh: consumedWh > producedWh ? consumedWh - producedWh : 0n,
        };
      });
      const readings = expected.map(({ reading }) => reading);
      const signatures = await Promise.all(meters.map((meter, i) => signReading(meter.device, domain, readings[i])));
      const before = await accountsOf(meters);
      await this.#clockAtLeast(timestamp);
      const receipt = await mined(asOracle.submitReadings(readings, signatures));
      assertReadingsApplied(smartMeter.interface, receipt, expected, expect, before, await accountsOf(meters));
      return receipt;
    };

    /**
     * Claims the meters' credits as the keeper; asserts each meter has credits, each owner's balance is as
     * `owners` says, and the claim mints exactly each meter's credits to its owner.
     */
    const claim = async (meters: BenchMeter[], owners: OwnerBalances) => {
      const claimable = await Promise.all(meters.map((meter) => smartMeter.claimableCredits(meter.id)));
      const balancesBefore = await Promise.all(meters.map((meter) => energyToken.balanceOf(meter.owner)));
      for (const [i, meter] of meters.entries()) {
        if (claimable[i] === 0n) throw new Error(`meter ${meter.id} has no credits to claim`);
        if ((balancesBefore[i] === 0n) !== (owners === "cold")) {
          throw new Error(`owner of meter ${meter.id} holds ${balancesBefore[i]}: not a ${owners} claim`);
        }
      }
      const receipt = await mined(asKeeper.claimCredits(meters.map((meter) => meter.id)));
      const claimed = new Map<bigint, { owner: string; amountWh: bigint }>();
      for (const log of receipt.logs) {
        const event = smartMeter.interface.parseLog(log);
        if (event?.name !== "CreditsClaimed") continue;
        claimed.set(event.args.meterId, { owner: event.args.owner, amountWh: event.args.amountWh });
      }
      if (claimed.size !== meters.length) {
        throw new Error(`expected ${meters.length} CreditsClaimed events, got ${claimed.size}`);
      }
      const balancesAfter = await Promise.all(meters.map((meter) => energyToken.balanceOf(meter.owner)));
      for (const [i, meter] of meters.entries()) {
        const event = claimed.get(meter.id);
        if (event?.owner !== meter.owner || event.amountWh !== claimable[i]) {
          throw new Error(
            `meter ${meter.id}: claimed ${event?.amountWh} to ${event?.owner}, expected ${claimable[i]} to ${meter.owner}`,
          );
        }
        if (balancesAfter[i] - balancesBefore[i] !== claimable[i]) {
          throw new Error(`owner of meter ${meter.id} was not minted its ${claimable[i]} credits`);
        }
        if ((await smartMeter.claimableCredits(meter.id)) !== 0n) {
          throw new Error(`meter ${meter.id} still has credits after its claim`);
        }
      }
      return receipt;
    };

    return { smartMeter, energyToken, registerMeters, post, claim };
  }

  /** Each oracle's first report of a zone, then its next round, with exactly the quorum of signatures. */
  async oracleReports(): Promise<void> {
    let observedAt = BigInt(await this.#time.latest());
    for (const [name, { id, rounds }] of Object.entries(ORACLE_ROUNDS) as Array<[OracleName, (typeof ORACLE_ROUNDS)[OracleName]]>) {
      for (const [index, values] of rounds.entries()) {
        observedAt += 60n;
        const receipt = await this.#report(name, BigInt(index + 1), observedAt, values);
        const [rowId, phase] = index === 0 ? ["First", "first report of a zone"] : ["Next", "next round"];
        await this.#record(`${id}Report${rowId}`, `${id} report, ${this.#accounts.quorum} signatures (${phase})`, this.#accounts.quorum, receipt);
      }
    }
  }

  /** Submits round `round` of zone ZONE to oracle `name`, signed by exactly the quorum, stamped `observedAt`. */
  async #report(name: OracleName, round: bigint, observedAt: bigint, values: bigint[]): Promise<TransactionReceipt> {
    const ethers = this.#ethers;
    const operators = await Promise.all(this.#accounts.oracleOperators.map((address) => ethers.getSigner(address)));
    // submitReport wants observations by strictly ascending signer address.
    const reporters = operators
      .sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1))
      .slice(0, this.#accounts.quorum);
    const relayer = (await ethers.getSigners())[0];
    const { chainId } = await ethers.provider.getNetwork();
    const oracle = await ethers.getContractAt("IQuorumOracle", this.#addresses[name]);
    const domain = reportDomain(name, chainId, this.#addresses[name]);
    const types = reportTypes(name);
    const message = reportMessage(name, ZONE, round, observedAt, values);
    const onChainDigest = await oracle.reportDigest(ZONE, round, observedAt, values);
    if (ethers.TypedDataEncoder.hash(domain, types, message) !== onChainDigest) {
      throw new Error(`test/helpers/oracleTypedData.ts does not match ${name}.REPORT_TYPEHASH: signatures would be refused`);
    }
    const observations = await Promise.all(
      reporters.map(async (reporter) => ({
        signer: reporter.address,
        observedAt,
        values,
        signature: await reporter.signTypedData(domain, types, message),
      })),
    );
    await this.#clockAtLeast(observedAt);
    const receipt = await mined(oracle.connect(relayer).submitReport(ZONE, round, observations));
    if (!receipt.logs.some((log) => oracle.interface.parseLog(log)?.name === "ReportAccepted")) {
      throw new Error(`${name} did not accept round ${round}`);
    }
    return receipt;
  }

  /**
   * The market: vault deposits and a withdrawal, resting orders at an existing and at a new price level, a
   * cancel, takes against 1, 10 and 50 distinct makers (a maker's fill only writes its order; its side settles
   * later), the makers' settlement with claimFills (cold: the maker's first proceeds, a zero payment balance
   * and statement; steady: it holds both; and ten makers' orders in one call), a Dutch
   * auction and matchOrders. Traders get their credits the real way: a solar meter each, signed readings,
   * claimCredits. A fresh price round is reported first, so every order passes the price band as in
   * production. Every market transaction is stamped one second after the previous one (MARKET_AT onwards),
   * so order ids, Dutch prices and fees are the same on every run. Each measured row asserts what it did
   * (trades, resting, balances), so a silent no-op cannot flatter it.
   */
  async market(addresses: MarketAddresses): Promise<void> {
    const ethers = this.#ethers;
    const { energyToken, registerMeters, post, claim } = await this.#metering();
    const settlement = await ethers.getContractAt("Settlement", addresses.settlement);
    const trading = await ethers.getContractAt("EnergyTrading", addresses.energyTrading);
    const stablecoin = await ethers.getContractAt("MockStablecoin", addresses.mockStablecoin);
    const priceOracle = await ethers.getContractAt("PriceOracle", this.#addresses.PriceOracle);
    const [payment, credits] = [addresses.mockStablecoin, this.#addresses.energyToken];
    const signers = await ethers.getSigners();
    const [keeper, taker, bidder, seller] = [signers[KEEPER], signers[TAKER], signers[BIDDER], signers[SELLER]];
    const tickSize = await trading.tickSize();
    for (const price of [ASK, BACKGROUND_ASK, FIRST_TAKE_ASK, BID, NEW_LEVEL_BID, DUTCH.start, DUTCH.floor]) {
      if (price % tickSize !== 0n) throw new Error(`bench price ${price} is not on the ${tickSize} tick grid`);
    }

    // Makers are keyed wallets (the node has 20 accounts), funded for gas.
    const makers = Array.from(
      { length: MAKERS },
      (_, i) => new ethers.Wallet(ethers.id(`gridx/bench/MAKER/key/${i}`), ethers.provider),
    );
    for (const maker of makers) await this.#setBalance(maker.address, 10n ** 20n);

    // Credits the real way, on day 1: a solar meter per maker and one for the seller, a baseline, two sunny
    // intervals (≥ 700 Wh each), and one claim.
    const { meters } = await registerMeters(SOLAR_PROSUMER, "MAKER", MAKERS + 1, (i) =>
      i < MAKERS ? makers[i].address : seller.address,
    );
    const readingsAt = DAY_ZERO + DAY + 10n * 3_600n;
    await post(meters, readingsAt, solarInterval, "baseline");
    await post(meters, readingsAt + INTERVAL, solarInterval, "surplus");
    await post(meters, readingsAt + 2n * INTERVAL, solarInterval, "surplus");
    await claim(meters, "cold");

    await this.#report("PriceOracle", BigInt(ORACLE_ROUNDS.PriceOracle.rounds.length + 1), MARKET_AT, MARKET_PRICE_ROUND);
    this.#marketClock = MARKET_AT;
    const send = (tx: () => Promise<TransactionResponse>) => this.#stamped(tx);
    const expiry = MARKET_AT + ORDER_TTL;
    const limitOrder = (trader: Trader, side: number, amountWh: bigint, price: bigint) =>
      send(() => trading.connect(trader).createOrder(ZONE, side, amountWh, price, expiry, 0));
    const eventsOf = (receipt: TransactionReceipt, name: string) =>
      receipt.logs.flatMap((log) => {
        const parsed = log.address === addresses.energyTrading ? trading.interface.parseLog(log) : null;
        return parsed?.name === name ? [parsed] : [];
      });
    const createdId = (receipt: TransactionReceipt) => {
      const [created] = eventsOf(receipt, "OrderCreated");
      if (created === undefined) throw new Error("no OrderCreated");
      return created.args.orderId as bigint;
    };
    const rests = async (orderId: bigint, remainingWh: bigint) => {
      const order = await trading.getOrder(orderId);
      if (order.remainingWh !== remainingWh) throw new Error(`order ${orderId} rests ${order.remainingWh} Wh, not ${remainingWh}`);
    };
    const available = async (account: string, token: string) => (await settlement.balanceOf(account, token)).available;

    // Vault: payment tokens from the faucet, approved and deposited; credits likewise (keeping a little in the
    // wallet). The measured deposits are top-ups and leave both wallet and vault balances non-zero.
    for (const trader of [taker, bidder]) {
      await send(() => stablecoin.connect(trader).faucet(trader.address, 10_000_000_000n));
      await send(() => stablecoin.connect(trader).approve(addresses.settlement, 5_000_000_000n));
      await send(() => settlement.connect(trader).deposit(payment, 5_000_000_000n));
    }
    for (const trader of [...makers, seller]) {
      const amount = (await energyToken.balanceOf(trader.address)) - 2n * LOT_WH;
      await send(() => energyToken.connect(trader).approve(addresses.settlement, amount));
      await send(() => settlement.connect(trader).deposit(credits, amount));
    }
    const deposit = async (id: string, operation: string, trader: Trader, token: string, amount: bigint) => {
      const tokenContract = token === payment ? stablecoin : energyToken;
      await send(() => tokenContract.connect(trader).approve(addresses.settlement, amount));
      const before = await available(trader.address, token);
      await this.#record(id, operation, 1, await send(() => settlement.connect(trader).deposit(token, amount)));
      if ((await available(trader.address, token)) - before !== amount) throw new Error(`${id}: ${amount} not credited`);
    };
    await deposit("depositPayment", "deposit payment token (top-up)", taker, payment, 1_000_000_000n);
    await deposit("depositCredits", "deposit credits (top-up)", seller, credits, LOT_WH);
    const beforeWithdraw = await stablecoin.balanceOf(taker.address);
    await this.#record("withdraw", "withdraw payment token (part)", 1, await send(() => settlement.connect(taker).withdraw(payment, 500_000_000n)));
    if ((await stablecoin.balanceOf(taker.address)) - beforeWithdraw !== 500_000_000n) throw new Error("withdraw: not paid out");

    // Warm-up, unmeasured: the taker buys once at ASK (its buy level, credit balance and statement exist from
    // then on), the seller keeps an ask above ASK and the bidder a bid below it, so the book's bitmap words stay
    // in use when a maker level empties; the bidder buys once from a Dutch order (for matchOrders below).
    await limitOrder(seller, SELL, LOT_WH, ASK);
    await limitOrder(taker, BUY, LOT_WH, ASK);
    await limitOrder(seller, SELL, LOT_WH, BACKGROUND_ASK);
    const restingBid = createdId(await limitOrder(bidder, BUY, 2n * LOT_WH, BID));
    const dutchWarmUp = createdId(
      await send(() => trading.connect(seller).createDutchOrder(ZONE, LOT_WH, ASK, ASK, 1, expiry)),
    );
    await send(() => trading.connect(bidder).takeDutchOrder(dutchWarmUp, LOT_WH, ASK));

    // Resting orders and a cancel, by a trader that has placed orders before (its daily volume slot exists).
    if ((await trading.level(ZONE, BUY, BID)).live === 0n) throw new Error("the bid level is empty");
    const existing = await limitOrder(bidder, BUY, LOT_WH, BID);
    await this.#record("restExistingLevel", "resting order, existing price level", 1, existing);
    await rests(createdId(existing), LOT_WH);
    const newLevel = await trading.level(ZONE, BUY, NEW_LEVEL_BID);
    if (newLevel.tail !== 0n) throw new Error("the new price level was used before");
    const fresh = await limitOrder(bidder, BUY, LOT_WH, NEW_LEVEL_BID);
    await this.#record("restNewLevel", "resting order, new price level", 1, fresh);
    await rests(createdId(fresh), LOT_WH);
    const cancelled = await send(() => trading.connect(bidder).cancelOrder(createdId(existing)));
    await this.#record("cancel", "cancel (its level keeps other orders)", 1, cancelled);
    if (eventsOf(cancelled, "OrderCancelled").length !== 1) throw new Error("cancel: no OrderCancelled");

    // Takes: `count` makers each rest one lot at ASK, FIFO in one level; the taker buys exactly their volume.
    const take = async (id: string, operation: string, count: number) => {
      const ids: bigint[] = [];
      for (const maker of makers.slice(0, count)) ids.push(createdId(await limitOrder(maker, SELL, LOT_WH, ASK)));
      const receipt = await limitOrder(taker, BUY, BigInt(count) * LOT_WH, ASK);
      await this.#record(id, operation, count, receipt);
      const trades = eventsOf(receipt, "TradeExecuted");
      const sellers = new Set(trades.map((trade) => trade.args.seller as string));
      if (trades.length !== count || sellers.size !== count || eventsOf(receipt, "OrderCancelled").length !== 0) {
        throw new Error(`${id}: ${trades.length} trades with ${sellers.size} makers, expected ${count} and no remainder`);
      }
      if ((await trading.level(ZONE, SELL, ASK)).live !== 0n) throw new Error(`${id}: makers left at the ask`);
      for (const orderId of ids) {
        const [, , filledWh] = await trading.unsettledFills(orderId);
        if (filledWh !== LOT_WH) throw new Error(`${id}: order ${orderId} has ${filledWh} Wh unsettled, not ${LOT_WH}`);
      }
      return ids;
    };
    // The makers' settlement: each claim pays the maker the notional of its lot (no fee: the taker paid them).
    const claimFills = async (id: string, operation: string, orderIds: bigint[], makersState: "steady" | "cold") => {
      const owners = await Promise.all(orderIds.map(async (orderId) => (await trading.unsettledFills(orderId))[0] as string));
      const before = await Promise.all(owners.map((owner) => available(owner, payment)));
      if (before.some((amount) => (amount !== 0n) !== (makersState === "steady"))) {
        throw new Error(`${id}: not a ${makersState} claim (payment balances ${before.join(", ")})`);
      }
      await this.#record(id, operation, orderIds.length, await send(() => trading.connect(keeper).claimFills(orderIds)));
      for (const [i, owner] of owners.entries()) {
        const paid = (await available(owner, payment)) - before[i];
        if (paid !== (LOT_WH * ASK) / 1_000n) throw new Error(`${id}: ${owner} received ${paid}`);
      }
    };
    const first50 = await take("take50First", "take ×50 makers, the makers' first orders", MAKERS);
    await claimFills("claimFillsCold", "claimFills: a maker's first proceeds (cold)", first50.slice(0, 1), "cold");
    await claimFills("claimFills10Cold", "claimFills ×10 makers' orders, their first proceeds", first50.slice(1, 11), "cold");
    await send(() => trading.connect(keeper).claimFills(first50.slice(11)));
    const [one] = await take("take1", "take ×1 maker", 1);
    await claimFills("claimFills", "claimFills: one maker's order (steady)", [one], "steady");
    const ten = await take("take10", "take ×10 makers", 10);
    await claimFills("claimFills10", "claimFills ×10 makers' orders (steady)", ten, "steady");
    await take("take50", "take ×50 makers", MAKERS);

    // A Dutch auction, taken in part after a fifth of its window.
    const dutch = (amountWh: bigint) =>
      send(() => trading.connect(seller).createDutchOrder(ZONE, amountWh, DUTCH.start, DUTCH.floor, Number(DUTCH.window), expiry));
    const auction = await dutch(2n * LOT_WH);
    await this.#record("createDutch", "create Dutch-auction sell order", 1, auction);
    this.#marketClock += DUTCH.window / 5n;
    const dutchTake = await send(() => trading.connect(taker).takeDutchOrder(createdId(auction), LOT_WH, DUTCH.start));
    await this.#record("takeDutch", "take Dutch auction (part)", 1, dutchTake);
    await rests(createdId(auction), LOT_WH);

    // matchOrders: a keeper crosses the bidder's resting bid with a Dutch ask that decayed below it.
    const decaying = createdId(await dutch(LOT_WH));
    this.#marketClock += (DUTCH.window * 2n) / 3n;
    const matched = await send(() => trading.connect(keeper).matchOrders(restingBid, decaying));
    await this.#record("matchOrders", "matchOrders: resting bid × Dutch ask", 1, matched);
    const [trade, ...more] = eventsOf(matched, "TradeExecuted");
    if (trade === undefined || more.length !== 0 || trade.args.pricePerKWh >= BID) {
      throw new Error("matchOrders: expected one trade below the bid (so the bidder gets a refund)");
    }

    // Three more takes against one maker, for the cases the take rows above do not show (reported, not judged;
    // last, so no row above moves). In a book with depth, a taker usually leaves other makers at the level:
    // no bitmap word or best-price write. And a taker that never rests (immediate-or-cancel) draws its id from
    // the market's counter instead of its own price level.
    const [front, behind] = [
      createdId(await limitOrder(makers[0], SELL, LOT_WH, ASK)),
      createdId(await limitOrder(makers[1], SELL, LOT_WH, ASK)),
    ];
    const oneOfTwo = async (id: string, operation: string, flags: number, makerId: bigint, levelLive: bigint) => {
      const receipt = await send(() => trading.connect(taker).createOrder(ZONE, BUY, LOT_WH, ASK, expiry, flags));
      await this.#record(id, operation, 1, receipt);
      const trades = eventsOf(receipt, "TradeExecuted");
      if (trades.length !== 1 || trades[0].args.sellOrderId !== makerId || eventsOf(receipt, "OrderCancelled").length !== 0) {
        throw new Error(`${id}: expected one full trade with order ${makerId}`);
      }
      if ((await trading.level(ZONE, SELL, ASK)).live !== levelLive) throw new Error(`${id}: not ${levelLive} makers left at the ask`);
    };
    await oneOfTwo("take1Deep", "take ×1 maker, its level keeps another", 0, front, 1n);
    await oneOfTwo("take1Immediate", "take ×1 maker, immediate-or-cancel", Number(await trading.FLAG_IMMEDIATE_OR_CANCEL()), behind, 0n);
    // A limit taker at a price no buy order ever used: it draws its id from the market's counter and leaves
    // that level unused (no storage written from zero), so it costs what take ×1 does.
    if ((await trading.level(ZONE, BUY, FIRST_TAKE_ASK)).tail !== 0n) throw new Error("the first-take price was used before");
    const lone = createdId(await limitOrder(makers[0], SELL, LOT_WH, FIRST_TAKE_ASK));
    const firstTake = await limitOrder(taker, BUY, LOT_WH, FIRST_TAKE_ASK);
    await this.#record("take1NewPrice", "take ×1 maker, the first buy order at its price", 1, firstTake);
    const [firstTrade, ...others] = eventsOf(firstTake, "TradeExecuted");
    if (firstTrade?.args.sellOrderId !== lone || others.length !== 0) throw new Error("take1NewPrice: expected one trade");
    if ((await trading.level(ZONE, BUY, FIRST_TAKE_ASK)).tail !== 0n) throw new Error("take1NewPrice: the taker queued at its price");

    const [, observedAt, fresh_] = await priceOracle.referencePrice(ZONE);
    if (!fresh_) throw new Error(`the price reported at ${observedAt} went stale during the market section: trades were not banded`);
    if ((await settlement.accruedZoneFees(ZONE)) === 0n || (await settlement.accruedProtocolFees(ZONE)) === 0n) {
      throw new Error("the market accrued no fees");
    }
  }

  /**
   * Governance on the deployed system: two token holders delegate to themselves, one proposes a grid-fee
   * change for zone 1 (the timelock is the only ADMIN, so this is the only way to change it), both vote.
   * `castVote` is the first vote on the proposal (its tally slot is new) and `castVoteNext` a later one.
   */
  async governance(addresses: GovernanceAddresses): Promise<void> {
    const ethers = this.#ethers;
    const token = await ethers.getContractAt("GovernanceToken", addresses.governanceToken);
    const governor = await ethers.getContractAt("EnergyGovernor", addresses.energyGovernor);
    const gridManagement = await ethers.getContractAt("GridManagement", addresses.gridManagement);
    const [proposer, voter] = await Promise.all(addresses.holders.slice(0, 2).map((holder) => ethers.getSigner(holder)));
    for (const holder of [proposer, voter]) await mined(token.connect(holder).delegate(holder.address));
    await this.#time.increase(1n);

    const zone = await gridManagement.getZone(ZONE);
    const fees = {
      peakFeeBps: zone.peakFeeBps + 25n,
      offPeakFeeBps: zone.offPeakFeeBps,
      peakStartHour: zone.peakStartHour,
      peakEndHour: zone.peakEndHour,
    };
    const targets = [addresses.gridManagement];
    const calldatas = [gridManagement.interface.encodeFunctionData("setFeeSchedule", [ZONE, fees])];
    const description = "Zone 1: raise the peak grid fee by 0.25 %";
    const proposed = await mined(governor.connect(proposer).propose(targets, [0n], calldatas, description));
    await this.#record("propose", "propose (one call)", 1, proposed);
    const proposalId = await governor.hashProposal(targets, [0n], calldatas, ethers.id(description));

    await this.#time.increase((await governor.votingDelay()) + 1n);
    await this.#record("castVote", "castVote (first vote on a proposal)", 1, await mined(governor.connect(voter).castVote(proposalId, 1)));
    await this.#record("castVoteNext", "castVote (a later vote)", 1, await mined(governor.connect(proposer).castVote(proposalId, 1)));
    const [against, forVotes] = await governor.proposalVotes(proposalId);
    const expected = (await token.getVotes(proposer.address)) + (await token.getVotes(voter.address));
    if (against !== 0n || forVotes !== expected) throw new Error("governance: the votes were not counted");
  }

  /** The market targets against the measured execution gas. */
  marketTargets(): MarketTarget[] {
    const judge = (id: string, target: string, limit: number): MarketTarget => {
      const row = this.rows.find((r) => r.id === id);
      if (row === undefined) throw new Error(`no ${id} measurement`);
      return { id, target, limit, executionGas: row.executionGas, met: row.executionGas <= limit };
    };
    const { restExistingLevel, restNewLevel, cancel, takeBase, takePerMaker } = MARKET_TARGETS;
    return [
      judge("restExistingLevel", "resting order at an existing level", restExistingLevel),
      judge("restNewLevel", "resting order at a new level", restNewLevel),
      judge("cancel", "cancel", cancel),
      ...TAKE_ROWS.map(([id, makers]) =>
        judge(
          id,
          `take ×${makers} (${takeBase.toLocaleString("en-US")} + ${takePerMaker.toLocaleString("en-US")}/maker)${id.includes("Cold") ? ", cold" : ""}`,
          takeBase + takePerMaker * makers,
        ),
      ),
      judge("castVote", "castVote", GOVERNANCE_TARGETS.castVote),
      judge("redeem", "redeem with certificate issue", GOVERNANCE_TARGETS.redeemWithCertificate),
    ];
  }

  target(): Target {
    const row = (id: string) => {
      const found = this.rows.find((r) => r.id === id);
      if (found === undefined) throw new Error(`no ${id} measurement`);
      return found;
    };
    const batch = row(`steadySurplus${TARGET_BATCH_SIZE}`);
    const single = row("steadySurplus1");
    return {
      gasPerReadingInBatchOf50: TARGET_GAS_PER_READING,
      measuredGasPerReading: batch.gasPerItem,
      marginalGasPerReading: Math.round((batch.gasUsed - single.gasUsed) / (batch.items - single.items)),
      met: batch.gasPerItem <= TARGET_GAS_PER_READING,
    };
  }

  async #record(id: string, operation: string, items: number, receipt: TransactionReceipt): Promise<void> {
    if (TRACED.has(id)) process.stderr.write(await traceGas(this.#ethers, id, receipt.hash));
    const gasUsed = Number(receipt.gasUsed);
    const { data } = await receipt.getTransaction();
    const calldata = calldataGas(data);
    // EIP-7623 (Prague on): a transaction pays at least 10 gas per calldata token, 4 tokens per non-zero byte,
    // i.e. 2.5 × the standard calldata gas. Where that floor binds, gasUsed says nothing about execution.
    if (gasUsed <= TX_BASE_GAS + (calldata * 5) / 2) throw new Error(`${id}: the calldata floor binds, execution gas is unknown`);
    const executionGas = gasUsed - TX_BASE_GAS - calldata;
    this.rows.push({ id, operation, items, gasUsed, gasPerItem: Math.round(gasUsed / items), executionGas });
  }

  /** Sends a market transaction in the block one second after the previous one (see `market`). */
  async #stamped(send: () => Promise<TransactionResponse>): Promise<TransactionReceipt> {
    this.#marketClock += 1n;
    await this.#time.setNextBlockTimestamp(this.#marketClock);
    return mined(send());
  }

  /** Stamps the next block `timestamp`, unless the chain is already past it. */
  async #clockAtLeast(timestamp: bigint): Promise<void> {
    if (BigInt(await this.#time.latest()) < timestamp) await this.#time.setNextBlockTimestamp(timestamp);
  }
}

/** Operations whose gas `--trace` breaks down. */
const TRACED = new Set(
  (process.argv.find((arg) => arg.startsWith("--trace="))?.slice(8) ??
    (process.argv.includes("--trace") ? process.argv[process.argv.indexOf("--trace") + 1] : ""))
    .split(",")
    .filter(Boolean),
);

interface StructLog {
  op: string;
  gas: number;
  gasCost: number;
  depth: number;
  stack?: string[];
}

/**
 * Where a transaction's execution gas goes, from `debug_traceTransaction`: per call frame (the callee's
 * address) and opcode class, and each storage write, cold read and log on its own line. A CALL's own cost
 * (cold account access, memory expansion, value) is the frame's gas drop across it less what the callee
 * spent.
 */
async function traceGas(ethers: Ethers, id: string, hash: string): Promise<string> {
  const trace = (await ethers.provider.send("debug_traceTransaction", [
    hash,
    { disableMemory: true, disableStorage: true, disableStack: false },
  ])) as { structLogs: StructLog[] };
  const logs = trace.structLogs;
  const frames: string[] = ["tx.to"];
  const byClass = new Map<string, number>();
  const lines: string[] = [];
  const add = (key: string, gas: number) => byClass.set(key, (byClass.get(key) ?? 0) + gas);
  // open calls: the CALL step and the gas its callee has spent so far (nested calls in full)
  const open: { index: number; inner: number }[] = [];
  for (let i = 0; i < logs.length; i++) {
    const step = logs[i];
    const next = logs[i + 1];
    const frame = frames[step.depth - 1] ?? "?";
    if (next !== undefined && next.depth === step.depth + 1) {
      const stack = step.stack ?? [];
      const target = BigInt(stack[stack.length - 2] ?? "0").toString(16).padStart(40, "0").slice(-6);
      frames[step.depth] = `${frame}>${step.op === "STATICCALL" ? "s:" : ""}${target}`;
      open.push({ index: i, inner: 0 });
      continue;
    }
    const cost = next !== undefined && next.depth === step.depth ? step.gas - next.gas : step.gasCost;
    const klass = step.op.startsWith("LOG") ? "LOG" : ["SSTORE", "SLOAD", "TSTORE", "TLOAD"].includes(step.op) ? step.op : "compute";
    add(`${frame} ${klass}`, cost);
    if (step.op === "SSTORE" || klass === "LOG" || (step.op === "SLOAD" && cost > 100)) lines.push(`  ${frame} ${step.op} ${cost}`);
    if (open.length !== 0) open[open.length - 1].inner += cost;
    if (next !== undefined && next.depth < step.depth) {
      const call = open.pop();
      if (call === undefined) continue;
      const total = logs[call.index].gas - next.gas;
      const callerFrame = frames[logs[call.index].depth - 1] ?? "?";
      add(`${callerFrame} CALL`, total - call.inner);
      lines.push(`  ${callerFrame} ${logs[call.index].op} ${total - call.inner} (callee ${call.inner})`);
      if (open.length !== 0) open[open.length - 1].inner += total;
    }
  }
  const total = logs.length === 0 ? 0 : logs[0].gas - logs[logs.length - 1].gas + logs[logs.length - 1].gasCost;
  const rows = [...byClass.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `  ${k.padEnd(60)} ${v}`);
  return `\n── gas trace: ${id} (execution ≈ ${total}) ──\n${rows.join("\n")}\n  ── steps ──\n${lines.join("\n")}\n`;
}

/** The meter's next reading at `timestamp`, its registers advanced by the given Wh. */
function advance(meter: BenchMeter, timestamp: bigint, producedWh: bigint, consumedWh: bigint): Reading {
  const reading: Reading = {
    meterId: meter.id,
    seq: meter.last.seq + 1n,
    timestamp,
    productionWh: meter.last.productionWh + producedWh,
    consumptionWh: meter.last.consumptionWh + consumedWh,
    voltage_mV: 229_000n + ((meter.id * 137n) % 3_000n),
    frequency_mHz: 49_950n + ((meter.id * 31n) % 100n),
  };
  meter.last = reading;
  return reading;
}

/**
 * Asserts every reading of the batch was accepted with the surplus and deficit `expected` gives it, and moved
 * its meter's claimable credits and uncovered consumption (`before` → `after`) by exactly those amounts.
 */
function assertReadingsApplied(
  smartMeterInterface: Interface,
  receipt: TransactionReceipt,
  expected: ExpectedReading[],
  expect: Expectation,
  before: MeterAccounts[],
  after: MeterAccounts[],
): void {
  const accepted = new Map<bigint, { seq: bigint; surplusWh: bigint; deficitWh: bigint }>();
  for (const log of receipt.logs) {
    const event = smartMeterInterface.parseLog(log);
    if (event?.name === "ReadingRejected") {
      const { meterId, seq, reason } = event.args;
      throw new Error(`reading of meter ${meterId} seq ${seq} rejected (reason ${reason})`);
    }
    if (event?.name === "ReadingAccepted") {
      const { meterId, seq, surplusWh, deficitWh } = event.args;
      accepted.set(meterId, { seq, surplusWh, deficitWh });
    }
  }
  if (accepted.size !== expected.length) {
    throw new Error(`expected ${expected.length} accepted readings, got ${accepted.size}`);
  }

  for (const [i, { reading, surplusWh, deficitWh }] of expected.entries()) {
    const meter = `reading of meter ${reading.meterId} seq ${reading.seq}`;
    const event = accepted.get(reading.meterId);
    if (event?.seq !== reading.seq || event.surplusWh !== surplusWh || event.deficitWh !== deficitWh) {
      throw new Error(
        `${meter}: accepted as seq ${event?.seq}, surplus ${event?.surplusWh}, deficit ${event?.deficitWh}; ` +
          `expected surplus ${surplusWh} and deficit ${deficitWh}`,
      );
    }
    const credited = after[i].claimableWh - before[i].claimableWh;
    const booked = after[i].uncoveredWh - before[i].uncoveredWh;
    if (credited !== surplusWh || booked !== deficitWh) {
      throw new Error(`${meter}: credited ${credited} and booked ${booked}, expected ${surplusWh} and ${deficitWh}`);
    }
    const applied =
      expect === "baseline" ? surplusWh === 0n && deficitWh === 0n : expect === "surplus" ? surplusWh > 0n : deficitWh > 0n;
    if (!applied) throw new Error(`${meter} is not a ${expect} reading`);
  }
}

/** Calldata gas as the intrinsic-gas rule prices it (EIP-2028). */
function calldataGas(data: string): number {
  let gas = 0;
  for (let i = 2; i < data.length; i += 2) {
    gas += data.slice(i, i + 2) === "00" ? CALLDATA_ZERO_BYTE_GAS : CALLDATA_NONZERO_BYTE_GAS;
  }
  return gas;
}

async function mined(sent: Promise<TransactionResponse>): Promise<TransactionReceipt> {
  const receipt = await (await sent).wait();
  if (receipt === null || receipt.status !== 1) throw new Error("a bench transaction failed");
  return receipt;
}

function renderTable(rows: Row[], target: Target, marketTargets: MarketTarget[], seconds: number): string {
  const columns: Array<[title: string, width: number]> = [
    ["operation", Math.max(...rows.map((row) => row.operation.length))],
    ["items", 5],
    ["total gas", 11],
    ["gas / item", 10],
    ["execution", 11],
  ];
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(columns[i][1]) : cell.padStart(columns[i][1]))).join("  ").trimEnd();
  const fmt = (n: number) => n.toLocaleString("en-US");
  const verdict = (met: boolean) => (met ? "met" : "NOT met");
  const targetWidth = Math.max(...marketTargets.map((t) => t.target.length));
  return [
    line(columns.map(([title]) => title)),
    line(columns.map(([, width]) => "─".repeat(width))),
    ...rows.map((row) =>
      line([row.operation, String(row.items), fmt(row.gasUsed), fmt(row.gasPerItem), fmt(row.executionGas)]),
    ),
    "",
    `Target: ≤ ${fmt(TARGET_GAS_PER_READING)} gas per reading in a steady batch of ${TARGET_BATCH_SIZE}, signature check included.`,
    `Measured ${fmt(target.measuredGasPerReading)} per reading: ${verdict(target.met)}. Marginal cost of one more reading in a batch: ${fmt(target.marginalGasPerReading)}.`,
    `A reading only credits its meter; minting is in claimCredits, whose rows are gas per meter claimed.`,
    "",
    "Market and governance targets, on execution gas (reported, never enforced):",
    ...marketTargets.map(
      (t) =>
        `  ${t.target.padEnd(targetWidth)}  ≤ ${fmt(t.limit).padStart(9)}  measured ${fmt(t.executionGas).padStart(9)}  ${verdict(t.met)}`,
    ),
    "",
    `Total gas is the receipt's gasUsed: the 21,000 transaction base and calldata included (refunds deducted).`,
    `Execution is gasUsed − 21,000 − calldata gas (4 per zero byte, 16 per other byte): the call's own cost, as`,
    `hardhat test --gas-stats and forge gas reports show it. Ran in ${seconds.toFixed(1)} s after compilation.`,
    "",
  ].join("\n");
}

/** Operation id → gasUsed, in the order the bench measures them. */
function snapshotOf(rows: Row[]): Record<string, number> {
  return Object.fromEntries(rows.map((row) => [row.id, row.gasUsed]));
}

/**
 * Every way `rows` departs from the committed snapshot: an operation costing more than its snapshot by more
 * than SNAPSHOT_TOLERANCE, and operations measured but not in the snapshot or the other way round.
 */
function snapshotProblems(rows: Row[], snapshot: Record<string, number>): string[] {
  const problems: string[] = [];
  const measured = snapshotOf(rows);
  for (const [id, gasUsed] of Object.entries(measured)) {
    const committed = snapshot[id];
    if (committed === undefined) {
      problems.push(`${id}: measured (${gasUsed}) but not in the snapshot`);
    } else if (gasUsed > committed * (1 + SNAPSHOT_TOLERANCE)) {
      const percent = (((gasUsed - committed) / committed) * 100).toFixed(2);
      problems.push(`${id}: ${gasUsed} gas, ${percent}% above the snapshot's ${committed}`);
    }
  }
  for (const id of Object.keys(snapshot)) {
    if (!(id in measured)) problems.push(`${id}: in the snapshot but no longer measured`);
  }
  return problems;
}

async function readSnapshot(): Promise<Record<string, number>> {
  let text: string;
  try {
    text = await readFile(SNAPSHOT_FILE, "utf8");
  } catch {
    throw new Error(`no gas snapshot at ${fileURLToPath(SNAPSHOT_FILE)}: run ${SNAPSHOT_COMMAND}`);
  }
  return JSON.parse(text) as Record<string, number>;
}

// ─────────────────────────────────────────────────────────────── entry point

const writeStdout = process.stdout.write.bind(process.stdout);

try {
  // Only the result may reach stdout: anything a dependency prints goes to stderr.
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  const { output, target, rows } = await run(process.argv.includes("--json"));
  writeStdout(output);
  if (process.argv.includes("--snapshot")) {
    await writeFile(SNAPSHOT_FILE, `${JSON.stringify(snapshotOf(rows), null, 2)}\n`);
    process.stderr.write(`bench:gas --snapshot: wrote ${rows.length} operations to ${fileURLToPath(SNAPSHOT_FILE)}\n`);
  }
  if (process.argv.includes("--check")) {
    if (!target.met) {
      process.stderr.write(
        `bench:gas --check: ${target.measuredGasPerReading} gas per reading exceeds ${TARGET_GAS_PER_READING}\n`,
      );
      process.exitCode = 1;
    }
    const problems = snapshotProblems(rows, await readSnapshot());
    if (problems.length !== 0) {
      process.stderr.write(
        `bench:gas --check: the gas snapshot does not match (tolerance ${SNAPSHOT_TOLERANCE * 100}%):\n` +
          problems.map((problem) => `  ${problem}\n`).join("") +
          `If the change is intended, rerun ${SNAPSHOT_COMMAND} and commit gas-snapshot.json.\n`,
      );
      process.exitCode = 1;
    }
  }
} catch (error) {
  process.stderr.write(`bench:gas failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
