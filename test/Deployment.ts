import { expect } from "chai";
import { network } from "hardhat";
import GridXModule from "../ignition/modules/GridX.ts";
import type { BaseContract, FunctionFragment, Interface, ParamType } from "ethers";
import { type ZoneConfig, readParametersFile, resolveParametersFile } from "../ignition/lib/deploymentPlan.ts";

const { ethers, ignition, networkHelpers } = await network.create();

/** The parameters the default GridX module was shaped from (ignition/parameters/localhost.json unless overridden). */
const parameters = await readParametersFile(resolveParametersFile());

/** Role ids of contracts/libraries/Roles.sol, restated here so the test does not trust the deployment's copy. */
const ADMIN = 0n;
const GRID_OPERATOR = 1n;
const ORACLE_OPERATOR = 2n;
const METER_REGISTRAR = 3n;
const GUARDIAN = 4n;

/** The permission table an auditor expects, written out by hand. */
const ORACLE_ADMIN_FUNCTIONS = { setQuorum: ADMIN, setHeartbeat: ADMIN, setFieldConfig: ADMIN };
const EXPECTED_FUNCTION_ROLES = {
  gridManagement: {
    createZone: ADMIN,
    setZoneActive: ADMIN,
    setFeeSchedule: ADMIN,
    setCapacity: ADMIN,
    setEmissionFactor: ADMIN,
    setTreasury: ADMIN,
    setComplianceLimits: ADMIN,
    setTradingInterval: ADMIN,
    setZoneOperator: ADMIN,
    unpause: ADMIN,
    setMarket: ADMIN,
    haltZone: GRID_OPERATOR,
    resumeZone: GRID_OPERATOR,
    pause: GUARDIAN,
  },
  smartMeter: {
    registerMeter: METER_REGISTRAR,
    setMeterActive: METER_REGISTRAR,
    setDeviceSigner: METER_REGISTRAR,
    setRatedCapacity: METER_REGISTRAR,
    submitReadings: ORACLE_OPERATOR,
    setMaxFutureSkew: ADMIN,
    setEnergyToken: ADMIN,
    setGreenCertificate: ADMIN,
    setAssetRegistry: ADMIN,
  },
  priceOracle: { ...ORACLE_ADMIN_FUNCTIONS, setMarket: ADMIN },
  gridOracle: ORACLE_ADMIN_FUNCTIONS,
  weatherOracle: ORACLE_ADMIN_FUNCTIONS,
  settlement: { setProtocolTreasury: ADMIN },
  energyTrading: { setMaxFillsPerCall: ADMIN, setPriceBand: ADMIN, setStaleReferencePolicy: ADMIN, setProtocolFee: ADMIN },
} as const;

/**
 * Settlement's escrow functions. They are not AccessManager-restricted (so they are absent from the table
 * and no role can be granted them): the contract itself admits only the wired EnergyTrading
 * (`SettlementCallerNotEnergyTrading`), which a test below checks against every other account.
 */
const ENERGY_TRADING_ONLY = ["lock", "unlock", "settleTaker", "settleMaker", "settleResting"] as const;

/** EnergyTrading's copies of the trading rules and reference prices: only their owners may push them. */
const MARKET_HOOKS = {
  onZoneRulesChanged: ["gridManagement", "TradingCallerNotGridManagement"],
  onPauseChanged: ["gridManagement", "TradingCallerNotGridManagement"],
  onReferencePrice: ["priceOracle", "TradingCallerNotPriceOracle"],
  onReferenceHeartbeat: ["priceOracle", "TradingCallerNotPriceOracle"],
} as const;

/** State-changing functions that are deliberately not AccessManager-restricted. */
const PUBLIC_FUNCTIONS = {
  gridManagement: ["setAuthority"], // AccessManaged: only the current authority may call it
  // claimCredits: anyone (owner, dApp, keeper); the credits only ever go to each meter's owner.
  // transferMeterOwnership / coverConsumption: checked by the contract (meter owner / EnergyToken).
  smartMeter: ["setAuthority", "claimCredits", "transferMeterOwnership", "coverConsumption"],
  priceOracle: ["setAuthority", "submitReport"], // quorum-signature-checked; anyone may relay
  gridOracle: ["setAuthority", "submitReport"],
  weatherOracle: ["setAuthority", "submitReport"],
  // deposit / depositWithPermit / withdraw move only the caller's own balance; the sweeps pay accrued fees
  // only to the zone's treasury / the protocol treasury; the escrow functions are EnergyTrading-checked.
  settlement: [
    "setAuthority",
    "deposit",
    "depositWithPermit",
    "withdraw",
    "sweepZoneFees",
    "sweepProtocolFees",
    ...ENERGY_TRADING_ONLY,
  ],
  // The market is open to every account; cancelOrder is owner-checked, expireOrders removes only expired
  // orders, and halts, pause and compliance limits come from GridManagement. The hooks admit only
  // GridManagement (rules, pause) and PriceOracle (reference prices, heartbeat); a test below checks it.
  energyTrading: [
    "setAuthority",
    "onZoneRulesChanged",
    "onPauseChanged",
    "onReferencePrice",
    "onReferenceHeartbeat",
    "createOrder",
    "createDutchOrder",
    "takeDutchOrder",
    "cancelOrder",
    "expireOrders",
    "matchOrders",
    "claimFills",
  ],
} as const;

type Target = keyof typeof EXPECTED_FUNCTION_ROLES;

async function deployGridX() {
  const deployed = await ignition.deploy(GridXModule, { parameters });
  const contracts = {
    manager: await ethers.getContractAt("GridXAccessManager", await deployed.accessManager.getAddress()),
    gridManagement: await ethers.getContractAt("GridManagement", await deployed.gridManagement.getAddress()),
    smartMeter: await ethers.getContractAt("SmartMeter", await deployed.smartMeter.getAddress()),
    energyToken: await ethers.getContractAt("EnergyToken", await deployed.energyToken.getAddress()),
    mockStablecoin: await ethers.getContractAt("MockStablecoin", await deployed.mockStablecoin.getAddress()),
    priceOracle: await ethers.getContractAt("PriceOracle", await deployed.priceOracle.getAddress()),
    gridOracle: await ethers.getContractAt("GridOracle", await deployed.gridOracle.getAddress()),
    weatherOracle: await ethers.getContractAt("WeatherOracle", await deployed.weatherOracle.getAddress()),
    settlement: await ethers.getContractAt("Settlement", await deployed.settlement.getAddress()),
    energyTrading: await ethers.getContractAt("EnergyTrading", await deployed.energyTrading.getAddress()),
    greenCertificate: await ethers.getContractAt("GreenCertificate", await deployed.greenCertificate.getAddress()),
    energyAssetNft: await ethers.getContractAt("EnergyAssetNFT", await deployed.energyAssetNft.getAddress()),
    governanceToken: await ethers.getContractAt("GovernanceToken", await deployed.governanceToken.getAddress()),
    timelock: await ethers.getContractAt("GridXTimelock", await deployed.timelock.getAddress()),
    energyGovernor: await ethers.getContractAt("EnergyGovernor", await deployed.energyGovernor.getAddress()),
  };
  return contracts;
}

/** The timelock as a signer: after deployment it is the AccessManager's only ADMIN. */
async function asTimelock(c: Awaited<ReturnType<typeof deployGridX>>) {
  const address = await c.timelock.getAddress();
  await networkHelpers.impersonateAccount(address);
  await networkHelpers.setBalance(address, 10n ** 18n);
  return ethers.getSigner(address);
}

/** The selector of `name` on a contract of any type (the targets' typed interfaces differ). */
function selectorOf(contract: { interface: unknown }, name: string): string {
  const fragment = (contract.interface as Interface).getFunction(name);
  if (fragment === null) throw new Error(`no function ${name}`);
  return fragment.selector;
}

/**
 * Zero-valued arguments for `fragment`: enough to reach its access check, since `restricted` is the
 * first modifier of every restricted function and runs before any other check.
 */
function zeroArguments(fragment: FunctionFragment): unknown[] {
  return fragment.inputs.map(zeroValue);
}

function zeroValue(param: ParamType): unknown {
  if (param.isArray()) return Array.from({ length: Math.max(param.arrayLength, 0) }, () => zeroValue(param.arrayChildren));
  if (param.isTuple()) return param.components.map(zeroValue);
  if (param.baseType === "address") return ethers.ZeroAddress;
  if (param.baseType === "bool") return false;
  if (param.baseType === "string") return "";
  if (param.baseType === "bytes") return "0x";
  const fixedBytes = /^bytes(\d+)$/.exec(param.baseType);
  if (fixedBytes !== null) return ethers.zeroPadValue("0x", Number(fixedBytes[1]));
  return 0n; // uintN / intN
}

/** Parameter block of a module, typed loosely: the values are checked against the chain, not trusted. */
function block(moduleId: string): Record<string, any> {
  return parameters[moduleId] as Record<string, any>;
}

describe("Deployment (ignition/modules/GridX.ts)", function () {
  describe("contracts", function () {
    it("answers every managed contract to one AccessManager whose only ADMIN is the governance timelock", async function () {
      const c = await networkHelpers.loadFixture(deployGridX);
      const [deployer, ...others] = await ethers.getSigners();
      const managerAddress = await c.manager.getAddress();

      for (const target of [
        c.gridManagement,
        c.smartMeter,
        c.priceOracle,
        c.gridOracle,
        c.weatherOracle,
        c.settlement,
        c.energyTrading,
      ]) {
        expect(await target.authority()).to.equal(managerAddress);
      }
      const timelock = await c.timelock.getAddress();
      expect(await c.manager.hasRole(ADMIN, timelock)).to.deep.equal([true, 0n]);
      // No externally owned account holds ADMIN: the deployer renounced it after handing it over.
      for (const account of [deployer, ...others]) expect((await c.manager.hasRole(ADMIN, account.address))[0]).to.equal(false);
      const granted = await c.manager.queryFilter(c.manager.filters.RoleGranted(ADMIN));
      const revoked = await c.manager.queryFilter(c.manager.filters.RoleRevoked(ADMIN));
      expect(granted.map(({ args }) => args.account)).to.deep.equal([deployer.address, timelock]);
      expect(revoked.map(({ args }) => args.account)).to.deep.equal([deployer.address]);
    });

    it("wires SmartMeter and EnergyToken to each other", async function () {
      const c = await networkHelpers.loadFixture(deployGridX);

      expect(await c.smartMeter.energyToken()).to.equal(await c.energyToken.getAddress());
      expect(await c.energyToken.smartMeter()).to.equal(await c.smartMeter.getAddress());
      expect(await c.energyToken.decimals()).to.equal(3n);
      const admin = await asTimelock(c);
      await expect(c.smartMeter.connect(admin).setEnergyToken(await c.mockStablecoin.getAddress()))
        .to.be.revertedWithCustomError(c.smartMeter, "SmartMeterEnergyTokenAlreadySet")
        .withArgs(await c.energyToken.getAddress());
    });

    it("applies the core parameters", async function () {
      const c = await networkHelpers.loadFixture(deployGridX);
      const core = block("GridXCore");

      expect(await c.gridManagement.tradingInterval()).to.equal(BigInt(core.tradingIntervalSeconds));
      expect(await c.smartMeter.maxFutureSkew()).to.equal(BigInt(core.maxFutureSkewSeconds));
      expect(await c.mockStablecoin.decimals()).to.equal(6n);
    });

    it("wires the market: Settlement holds the payment token and credits and admits EnergyTrading once", async function () {
      const c = await networkHelpers.loadFixture(deployGridX);
      const market = block("GridXMarket");
      const energyTradingAddress = await c.energyTrading.getAddress();

      expect(await c.settlement.paymentToken()).to.equal(await c.mockStablecoin.getAddress());
      expect(await c.settlement.energyToken()).to.equal(await c.energyToken.getAddress());
      expect(await c.settlement.gridManagement()).to.equal(await c.gridManagement.getAddress());
      expect(await c.settlement.energyTrading()).to.equal(energyTradingAddress);
      expect(await c.settlement.protocolTreasury()).to.equal(ethers.getAddress(market.protocolTreasury));
      // the protocol fee rate is governed on the market, which passes it to the vault with each settle
      expect(await c.energyTrading.protocolFeeBps()).to.equal(BigInt(market.protocolFeeBps));
      // the vault is EnergyTrading's own: nothing (not even ADMIN) can point it at another caller
      expect(c.settlement.interface.format().filter((signature) => signature.includes("setEnergyTrading"))).to.deep.equal([]);

      expect(await c.energyTrading.settlement()).to.equal(await c.settlement.getAddress());
      expect(await c.energyTrading.gridManagement()).to.equal(await c.gridManagement.getAddress());
      expect(await c.energyTrading.priceOracle()).to.equal(await c.priceOracle.getAddress());
      expect(await c.energyTrading.tickSize()).to.equal(BigInt(market.tickSize));
      expect(await c.energyTrading.maxFillsPerCall()).to.equal(BigInt(market.maxFillsPerCall));
      expect(await c.energyTrading.priceBandBps()).to.equal(BigInt(market.priceBandBps));
      expect(await c.energyTrading.staleReferencePolicy()).to.equal(BigInt(market.staleReferencePolicy));
    });

    it("configures each oracle's quorum, heartbeat and field bounds from the parameters", async function () {
      const c = await networkHelpers.loadFixture(deployGridX);
      const oracles = block("GridXOracles");
      const gridAddress = await c.gridManagement.getAddress();

      for (const [oracle, prefix] of [
        [c.priceOracle, "price"],
        [c.gridOracle, "grid"],
        [c.weatherOracle, "weather"],
      ] as const) {
        expect(await oracle.gridManagement()).to.equal(gridAddress);
        expect(await oracle.quorum()).to.equal(BigInt(oracles.quorum));
        expect(await oracle.heartbeat()).to.equal(BigInt(oracles[`${prefix}HeartbeatSeconds`]));
        const fields = oracles[`${prefix}Fields`] as Array<{ min: number; max: number; maxDeviationBps: number }>;
        expect(await oracle.fieldCount()).to.equal(BigInt(fields.length));
        for (const [index, field] of fields.entries()) {
          const [min, max, maxDeviationBps] = await oracle.fieldConfig(index);
          expect([min, max, maxDeviationBps]).to.deep.equal([
            BigInt(field.min),
            BigInt(field.max),
            BigInt(field.maxDeviationBps),
          ]);
        }
      }
    });
  });

  describe("permission table", function () {
    it("assigns every restricted function to its role", async function () {
      const c = await networkHelpers.loadFixture(deployGridX);

      for (const [target, functionRoles] of Object.entries(EXPECTED_FUNCTION_ROLES) as Array<[Target, Record<string, bigint>]>) {
        const contract = c[target];
        for (const [name, role] of Object.entries(functionRoles)) {
          const selector = selectorOf(contract, name);
          expect(await c.manager.getTargetFunctionRole(await contract.getAddress(), selector), `${target}.${name}`).to.equal(role);
        }
      }
    });

    it("leaves no state-changing function out of the table unless it is public by design", async function () {
      const c = await networkHelpers.loadFixture(deployGridX);

      for (const target of Object.keys(EXPECTED_FUNCTION_ROLES) as Target[]) {
        const stateChanging: string[] = [];
        (c[target].interface as Interface).forEachFunction((fragment) => {
          if (!fragment.constant) stateChanging.push(fragment.name);
        });
        stateChanging.sort();
        const covered = [...Object.keys(EXPECTED_FUNCTION_ROLES[target]), ...PUBLIC_FUNCTIONS[target]].sort();
        expect(stateChanging, target).to.deep.equal(covered);
      }
    });

    it("agrees with the contracts: a stranger is refused every function in the table and no public one", async function () {
      const c = await networkHelpers.loadFixture(deployGridX);
      const stranger = (await ethers.getSigners()).at(-1)!;

      for (const target of Object.keys(EXPECTED_FUNCTION_ROLES) as Target[]) {
        const contract = c[target];
        const asStranger = contract.connect(stranger) as unknown as BaseContract;
        const restricted = new Set(Object.keys(EXPECTED_FUNCTION_ROLES[target]));
        // setAuthority is AccessManaged's own: it refuses everyone but the current authority.
        const open = PUBLIC_FUNCTIONS[target].filter((name) => name !== "setAuthority");
        for (const name of [...restricted, ...open]) {
          const fragment = (contract.interface as Interface).getFunction(name);
          if (fragment === null) throw new Error(`no function ${name}`);
          const call = asStranger.getFunction(fragment.format()).staticCall(...zeroArguments(fragment));
          if (restricted.has(name)) {
            await expect(call, `${target}.${name}`)
              .to.be.revertedWithCustomError(contract, "AccessManagedUnauthorized")
              .withArgs(stranger.address);
          } else {
            await expect(call, `${target}.${name}`).to.not.be.revertedWithCustomError(contract, "AccessManagedUnauthorized");
          }
        }
      }
    });

    it("wires GridManagement and PriceOracle to push their rules and prices to EnergyTrading, once", async function () {
      const c = await networkHelpers.loadFixture(deployGridX);
      const energyTradingAddress = await c.energyTrading.getAddress();
      expect(await c.gridManagement.market()).to.equal(energyTradingAddress);
      expect(await c.priceOracle.market()).to.equal(energyTradingAddress);
      expect(await c.energyTrading.referenceHeartbeat()).to.equal(await c.priceOracle.heartbeat());
      const zones = Number(await c.gridManagement.zoneCount());
      expect(zones).to.be.greaterThan(0);
      for (let zone = 1; zone <= zones; zone++) {
        const [open, rules] = await c.energyTrading.tradingRules(zone);
        expect(open, `zone ${zone} open`).to.equal(await c.gridManagement.isTradingAllowed(zone));
        expect([...rules], `zone ${zone} rules`).to.deep.equal([...(await c.gridManagement.zoneTradingRules(zone))]);
      }
      const admin = await asTimelock(c);
      await expect(c.gridManagement.connect(admin).setMarket(await c.smartMeter.getAddress()))
        .to.be.revertedWithCustomError(c.gridManagement, "GridManagementMarketAlreadySet")
        .withArgs(energyTradingAddress);
      await expect(c.priceOracle.connect(admin).setMarket(await c.smartMeter.getAddress()))
        .to.be.revertedWithCustomError(c.priceOracle, "PriceOracleMarketAlreadySet")
        .withArgs(energyTradingAddress);
    });

    it("admits only GridManagement and PriceOracle to EnergyTrading's hooks, the ADMIN included", async function () {
      const c = await networkHelpers.loadFixture(deployGridX);
      const [deployer] = await ethers.getSigners();
      const stranger = (await ethers.getSigners()).at(-1)!;
      for (const caller of [await asTimelock(c), deployer, stranger]) {
        const asCaller = c.energyTrading.connect(caller) as unknown as BaseContract;
        for (const [name, [, error]] of Object.entries(MARKET_HOOKS)) {
          const fragment = (c.energyTrading.interface as Interface).getFunction(name);
          if (fragment === null) throw new Error(`no function ${name}`);
          await expect(asCaller.getFunction(fragment.format()).staticCall(...zeroArguments(fragment)), `energyTrading.${name}`)
            .to.be.revertedWithCustomError(c.energyTrading, error)
            .withArgs(caller.address);
        }
      }
    });

    it("admits only EnergyTrading to Settlement's escrow functions, the ADMIN included", async function () {
      const c = await networkHelpers.loadFixture(deployGridX);
      const [deployer] = await ethers.getSigners();
      const stranger = (await ethers.getSigners()).at(-1)!;

      for (const caller of [await asTimelock(c), deployer, stranger]) {
        const asCaller = c.settlement.connect(caller) as unknown as BaseContract;
        for (const name of ENERGY_TRADING_ONLY) {
          const fragment = (c.settlement.interface as Interface).getFunction(name);
          if (fragment === null) throw new Error(`no function ${name}`);
          await expect(asCaller.getFunction(fragment.format()).staticCall(...zeroArguments(fragment)), `settlement.${name}`)
            .to.be.revertedWithCustomError(c.settlement, "SettlementCallerNotEnergyTrading")
            .withArgs(caller.address);
        }
      }
    });

    it("states the whole table in TargetFunctionRoleUpdated events, ADMIN functions included", async function () {
      const c = await networkHelpers.loadFixture(deployGridX);
      const expected = new Set<string>();
      for (const [target, functionRoles] of Object.entries(EXPECTED_FUNCTION_ROLES) as Array<[Target, Record<string, bigint>]>) {
        const address = await c[target].getAddress();
        for (const [name, role] of Object.entries(functionRoles)) {
          expected.add(`${address}:${selectorOf(c[target], name)}:${role}`);
        }
      }

      const events = await c.manager.queryFilter(c.manager.filters.TargetFunctionRoleUpdated());
      const emitted = events.map(({ args }) => `${args.target}:${args.selector}:${args.roleId}`);

      expect(emitted).to.have.lengthOf(expected.size);
      expect(new Set(emitted)).to.deep.equal(expected);
    });

    it("labels every role but the built-in ADMIN", async function () {
      const c = await networkHelpers.loadFixture(deployGridX);

      const events = await c.manager.queryFilter(c.manager.filters.RoleLabel());
      const labels = Object.fromEntries(events.map(({ args }) => [args.label, args.roleId]));

      expect(labels).to.deep.equal({ GRID_OPERATOR, ORACLE_OPERATOR, METER_REGISTRAR, GUARDIAN });
    });
  });

  describe("role members", function () {
    const zones = block("GridXZones").zones as Array<{ config: Record<string, any>; operators: string[] }>;
    const roles = block("GridXRoles");
    const members: Array<[string, bigint, string[]]> = [
      ["GRID_OPERATOR", GRID_OPERATOR, [...new Set(zones.flatMap((zone) => zone.operators))]],
      ["ORACLE_OPERATOR", ORACLE_OPERATOR, roles.oracleOperators],
      ["METER_REGISTRAR", METER_REGISTRAR, roles.meterRegistrars],
      ["GUARDIAN", GUARDIAN, roles.guardians],
    ];

    for (const [name, role, accounts] of members) {
      it(`grants ${name} to exactly the configured accounts, with no execution delay`, async function () {
        const c = await networkHelpers.loadFixture(deployGridX);
        expect(accounts).to.not.be.empty;
        const configured = new Set(accounts.map((account) => ethers.getAddress(account)));

        for (const signer of await ethers.getSigners()) {
          const [isMember, executionDelay] = await c.manager.hasRole(role, signer.address);
          expect(isMember, `${name} ${signer.address}`).to.equal(configured.has(signer.address));
          if (isMember) expect(executionDelay).to.equal(0n);
        }
        const granted = await c.manager.queryFilter(c.manager.filters.RoleGranted(role));
        expect(new Set(granted.map(({ args }) => args.account))).to.deep.equal(configured);
      });
    }

    it("lets each role call exactly its functions (AccessManager.canCall)", async function () {
      const c = await networkHelpers.loadFixture(deployGridX);
      const timelock = await c.timelock.getAddress();
      const memberOf: Record<string, string> = Object.fromEntries(
        [[ADMIN, [timelock]] as const, ...members.map(([, role, accounts]) => [role, accounts] as const)].map(
          ([role, accounts]) => [role.toString(), accounts[0]],
        ),
      );

      for (const [target, functionRoles] of Object.entries(EXPECTED_FUNCTION_ROLES) as Array<[Target, Record<string, bigint>]>) {
        const address = await c[target].getAddress();
        for (const [name, role] of Object.entries(functionRoles)) {
          const selector = selectorOf(c[target], name);
          for (const [otherRole, account] of Object.entries(memberOf)) {
            const [immediate] = await c.manager.canCall(account, address, selector);
            expect(immediate, `${target}.${name} by role ${otherRole}`).to.equal(otherRole === role.toString());
          }
        }
      }
    });
  });

  describe("zones", function () {
    const zones = block("GridXZones").zones as Array<{ config: Record<string, any>; operators: string[] }>;

    it("creates the configured zones in order, active and not halted", async function () {
      const c = await networkHelpers.loadFixture(deployGridX);

      expect(await c.gridManagement.zoneCount()).to.equal(BigInt(zones.length));
      for (const [index, { config }] of zones.entries()) {
        const zone = await c.gridManagement.getZone(index + 1);
        expect(zone.name).to.equal(config.name);
        expect(zone.treasury).to.equal(ethers.getAddress(config.treasury));
        expect(zone.emissionFactor_gCO2ePerKWh).to.equal(BigInt(config.emissionFactor_gCO2ePerKWh));
        expect(zone.capacityWhPerInterval).to.equal(BigInt(config.capacityWhPerInterval));
        expect([zone.peakFeeBps, zone.offPeakFeeBps, zone.peakStartHour, zone.peakEndHour]).to.deep.equal(
          [config.fees.peakFeeBps, config.fees.offPeakFeeBps, config.fees.peakStartHour, config.fees.peakEndHour].map(BigInt),
        );
        expect([zone.minOrderWh, zone.maxOrderWh, zone.maxDailyTradedWhPerAccount]).to.deep.equal(
          [config.limits.minOrderWh, config.limits.maxOrderWh, config.limits.maxDailyTradedWhPerAccount].map(BigInt),
        );
        expect(zone.active).to.equal(true);
        expect(zone.halted).to.equal(false);
      }
    });

    it("makes each zone's operators operators of that zone only", async function () {
      const c = await networkHelpers.loadFixture(deployGridX);

      for (const [index, { operators }] of zones.entries()) {
        for (const [otherIndex, other] of zones.entries()) {
          for (const operator of other.operators) {
            const expected = otherIndex === index || operators.includes(operator);
            expect(await c.gridManagement.isZoneOperator(index + 1, operator)).to.equal(expected);
          }
        }
      }
    });
  });

  describe("governance and assets", function () {
    const governance = block("GridXGovernance");
    const TIMELOCK_ADMIN = ethers.ZeroHash;
    const PROPOSER = ethers.id("PROPOSER_ROLE");
    const CANCELLER = ethers.id("CANCELLER_ROLE");
    const EXECUTOR = ethers.id("EXECUTOR_ROLE");

    it("mints the whole governance supply to the configured holders", async function () {
      const c = await networkHelpers.loadFixture(deployGridX);
      const recipients = governance.tokenRecipients as string[];
      const amounts = (governance.tokenAmounts as Array<bigint | string>).map(BigInt);

      let total = 0n;
      for (const [index, recipient] of recipients.entries()) {
        expect(await c.governanceToken.balanceOf(recipient)).to.equal(amounts[index]);
        total += amounts[index];
      }
      expect(await c.governanceToken.totalSupply()).to.equal(total);
      expect(await c.governanceToken.CLOCK_MODE()).to.equal("mode=timestamp");
    });

    it("configures the governor from the parameters and puts it behind the timelock", async function () {
      const c = await networkHelpers.loadFixture(deployGridX);

      expect(await c.energyGovernor.token()).to.equal(await c.governanceToken.getAddress());
      expect(await c.energyGovernor.timelock()).to.equal(await c.timelock.getAddress());
      expect(await c.energyGovernor.votingDelay()).to.equal(BigInt(governance.votingDelaySeconds));
      expect(await c.energyGovernor.votingPeriod()).to.equal(BigInt(governance.votingPeriodSeconds));
      expect(await c.energyGovernor.proposalThreshold()).to.equal(BigInt(governance.proposalThreshold));
      expect(await c.energyGovernor["quorumNumerator()"]()).to.equal(BigInt(governance.quorumNumerator));
      expect(await c.timelock.getMinDelay()).to.equal(BigInt(governance.timelockMinDelaySeconds));
    });

    it("makes the governor the timelock's only proposer and canceller, opens execution and leaves no timelock admin", async function () {
      const c = await networkHelpers.loadFixture(deployGridX);
      const governor = await c.energyGovernor.getAddress();
      const timelock = await c.timelock.getAddress();

      expect(await c.timelock.hasRole(PROPOSER, governor)).to.equal(true);
      expect(await c.timelock.hasRole(CANCELLER, governor)).to.equal(true);
      expect(await c.timelock.hasRole(EXECUTOR, ethers.ZeroAddress)).to.equal(true);
      expect(await c.timelock.hasRole(TIMELOCK_ADMIN, timelock)).to.equal(true);
      for (const signer of await ethers.getSigners()) {
        for (const role of [TIMELOCK_ADMIN, PROPOSER, CANCELLER]) {
          expect(await c.timelock.hasRole(role, signer.address), `${role} ${signer.address}`).to.equal(false);
        }
      }
    });

    it("wires GreenCertificate and EnergyAssetNFT into SmartMeter, once", async function () {
      const c = await networkHelpers.loadFixture(deployGridX);
      const certificate = await c.greenCertificate.getAddress();
      const registry = await c.energyAssetNft.getAddress();

      expect(await c.smartMeter.greenCertificate()).to.equal(certificate);
      expect(await c.smartMeter.assetRegistry()).to.equal(registry);
      const admin = await asTimelock(c);
      await expect(c.smartMeter.connect(admin).setGreenCertificate(registry))
        .to.be.revertedWithCustomError(c.smartMeter, "SmartMeterGreenCertificateAlreadySet")
        .withArgs(certificate);
      await expect(c.smartMeter.connect(admin).setAssetRegistry(certificate))
        .to.be.revertedWithCustomError(c.smartMeter, "SmartMeterAssetRegistryAlreadySet")
        .withArgs(registry);
    });

    it("changes a zone's grid fee and adds an oracle operator only through a passed, queued and executed proposal", async function () {
      const c = await networkHelpers.loadFixture(deployGridX);
      const [first, second] = await Promise.all(
        (governance.tokenRecipients as string[]).slice(0, 2).map((account) => ethers.getSigner(account)),
      );
      const newOperator = ethers.Wallet.createRandom().address;
      const zone = (block("GridXZones").zones as Array<{ config: ZoneConfig }>)[0].config;
      const fees = { ...zone.fees, peakFeeBps: 175, offPeakFeeBps: 60 };

      // Before: the deployer cannot change anything any more.
      await expect(c.gridManagement.setFeeSchedule(1, fees))
        .to.be.revertedWithCustomError(c.gridManagement, "AccessManagedUnauthorized");

      for (const holder of [first, second]) await c.governanceToken.connect(holder).delegate(holder.address);
      const targets = [await c.gridManagement.getAddress(), await c.manager.getAddress()];
      const values = [0n, 0n];
      const calldatas = [
        c.gridManagement.interface.encodeFunctionData("setFeeSchedule", [1, fees]),
        c.manager.interface.encodeFunctionData("grantRole", [ORACLE_OPERATOR, newOperator, 0]),
      ];
      const description = "Riverside: peak fee 1.75 %, off-peak 0.60 %; add a fourth oracle operator";
      const descriptionHash = ethers.id(description);
      const proposalId = await c.energyGovernor.hashProposal(targets, values, calldatas, descriptionHash);

      await c.energyGovernor.connect(first).propose(targets, values, calldatas, description);
      await networkHelpers.time.increase(BigInt(governance.votingDelaySeconds) + 1n);
      await c.energyGovernor.connect(first).castVote(proposalId, 1);
      await c.energyGovernor.connect(second).castVote(proposalId, 1);
      await networkHelpers.time.increase(BigInt(governance.votingPeriodSeconds));
      expect(await c.energyGovernor.state(proposalId)).to.equal(4n); // Succeeded

      await c.energyGovernor.queue(targets, values, calldatas, descriptionHash);
      await expect(c.energyGovernor.execute(targets, values, calldatas, descriptionHash)) // the delay is not over
        .to.be.revertedWithCustomError(c.timelock, "TimelockUnexpectedOperationState");
      await networkHelpers.time.increase(BigInt(governance.timelockMinDelaySeconds));
      await c.energyGovernor.execute(targets, values, calldatas, descriptionHash);

      expect(await c.energyGovernor.state(proposalId)).to.equal(7n); // Executed
      const updated = await c.gridManagement.getZone(1);
      expect([updated.peakFeeBps, updated.offPeakFeeBps]).to.deep.equal([175n, 60n]);
      expect(await c.manager.hasRole(ORACLE_OPERATOR, newOperator)).to.deep.equal([true, 0n]);
    });
  });

  describe("authorization in practice", function () {
    it("lets a zone's grid operator halt it, but not another zone", async function () {
      const c = await networkHelpers.loadFixture(deployGridX);
      const [riverside, hilltop] = block("GridXZones").zones as Array<{ operators: string[] }>;
      const riversideOperator = await ethers.getSigner(riverside.operators[0]);
      expect(hilltop.operators).to.not.include(riverside.operators[0]);

      await expect(c.gridManagement.connect(riversideOperator).haltZone(1, "feeder maintenance"))
        .to.emit(c.gridManagement, "ZoneHalted")
        .withArgs(1n, riversideOperator.address, "feeder maintenance");
      await expect(c.gridManagement.connect(riversideOperator).haltZone(2, "not mine"))
        .to.be.revertedWithCustomError(c.gridManagement, "GridManagementNotZoneOperator")
        .withArgs(2n, riversideOperator.address);
    });

    it("refuses an account without a role", async function () {
      const c = await networkHelpers.loadFixture(deployGridX);
      const stranger = (await ethers.getSigners()).at(-1)!;
      const zone = (block("GridXZones").zones as Array<{ config: ZoneConfig }>)[0].config;

      await expect(c.gridManagement.connect(stranger).createZone({ ...zone, name: "Rogue" }))
        .to.be.revertedWithCustomError(c.gridManagement, "AccessManagedUnauthorized")
        .withArgs(stranger.address);
      await expect(c.gridManagement.connect(stranger).pause())
        .to.be.revertedWithCustomError(c.gridManagement, "AccessManagedUnauthorized")
        .withArgs(stranger.address);
      await expect(c.smartMeter.connect(stranger).registerMeter(stranger.address, 1, 0, stranger.address, 5_000, "ROGUE-1"))
        .to.be.revertedWithCustomError(c.smartMeter, "AccessManagedUnauthorized")
        .withArgs(stranger.address);
      await expect(c.smartMeter.connect(stranger).submitReadings([], []))
        .to.be.revertedWithCustomError(c.smartMeter, "AccessManagedUnauthorized")
        .withArgs(stranger.address);
      await expect(c.priceOracle.connect(stranger).setQuorum(1))
        .to.be.revertedWithCustomError(c.priceOracle, "AccessManagedUnauthorized")
        .withArgs(stranger.address);
      await expect(c.settlement.connect(stranger).setProtocolTreasury(stranger.address))
        .to.be.revertedWithCustomError(c.settlement, "AccessManagedUnauthorized")
        .withArgs(stranger.address);
      await expect(c.energyTrading.connect(stranger).setPriceBand(0))
        .to.be.revertedWithCustomError(c.energyTrading, "AccessManagedUnauthorized")
        .withArgs(stranger.address);
      await expect(c.energyTrading.connect(stranger).setProtocolFee(0))
        .to.be.revertedWithCustomError(c.energyTrading, "AccessManagedUnauthorized")
        .withArgs(stranger.address);
      await expect(c.manager.connect(stranger).grantRole(ORACLE_OPERATOR, stranger.address, 0))
        .to.be.revertedWithCustomError(c.manager, "AccessManagerUnauthorizedAccount")
        .withArgs(stranger.address, ADMIN);
    });

    it("refuses a role holder outside its role: a guardian can pause but not unpause", async function () {
      const c = await networkHelpers.loadFixture(deployGridX);
      const guardian = await ethers.getSigner(block("GridXRoles").guardians[0]);
      const registrar = await ethers.getSigner(block("GridXRoles").meterRegistrars[0]);

      await expect(c.gridManagement.connect(guardian).pause()).to.emit(c.gridManagement, "Paused");
      await expect(c.gridManagement.connect(guardian).unpause())
        .to.be.revertedWithCustomError(c.gridManagement, "AccessManagedUnauthorized")
        .withArgs(guardian.address);
      await expect(c.smartMeter.connect(registrar).submitReadings([], []))
        .to.be.revertedWithCustomError(c.smartMeter, "AccessManagedUnauthorized")
        .withArgs(registrar.address);
    });
  });
});
