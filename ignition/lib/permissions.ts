/**
 * The GridX permission table: which AccessManager role may call each restricted function.
 *
 * Every restricted function is assigned explicitly, ADMIN ones included, so the deployment emits one
 * `TargetFunctionRoleUpdated` per function and an auditor reads the whole table from events instead of
 * relying on "unassigned means ADMIN". Role ids mirror `contracts/libraries/Roles.sol`.
 */
import { readFileSync } from "node:fs";
import { Interface } from "ethers";

/** AccessManager role ids, as in `Roles.sol`. */
export const ROLES = {
  ADMIN: 0n,
  GRID_OPERATOR: 1n,
  ORACLE_OPERATOR: 2n,
  METER_REGISTRAR: 3n,
  GUARDIAN: 4n,
} as const;

export type RoleName = keyof typeof ROLES;

/** Roles that get a `RoleLabel` event. ADMIN (0) is the AccessManager's locked built-in role: it cannot be labelled. */
export const LABELLED_ROLES = ["GRID_OPERATOR", "ORACLE_OPERATOR", "METER_REGISTRAR", "GUARDIAN"] as const satisfies readonly RoleName[];

/** The contracts whose functions the AccessManager guards. */
export type RestrictedContract =
  | "GridManagement"
  | "SmartMeter"
  | "PriceOracle"
  | "GridOracle"
  | "WeatherOracle"
  | "Settlement"
  | "EnergyTrading";

type FunctionRoles = Partial<Record<RoleName, readonly string[]>>;

const ORACLE_ADMIN = ["setQuorum", "setHeartbeat", "setFieldConfig"];
const ORACLE_GOVERNANCE: FunctionRoles = { ADMIN: ORACLE_ADMIN };

/**
 * Every `restricted` function of every GridX contract, by role. Functions not listed here are public by
 * design: `SmartMeter.claimCredits` (anyone may call it; the credits only ever go to each meter's owner),
 * `SmartMeter.transferMeterOwnership` (owner-checked), `SmartMeter.coverConsumption` (EnergyToken-checked),
 * the oracles' `submitReport` (signature-checked; anyone may relay), AccessManaged's `setAuthority`
 * (authority-checked), Settlement's `deposit` / `depositWithPermit` / `withdraw` (they move only the
 * caller's own balance) and `sweepZoneFees` / `sweepProtocolFees` (fees only ever go to their treasury),
 * Settlement's `lock` / `unlock` / `settleTaker` / `settleMaker` / `settleResting` (the contract admits only the wired
 * EnergyTrading, not through the AccessManager), and every EnergyTrading trading function (`createOrder`,
 * `createDutchOrder`, `takeDutchOrder`, `cancelOrder` (owner-checked), `expireOrders`, `matchOrders`,
 * `claimFills` (proceeds only ever go to each order's owner)), and
 * EnergyTrading's hooks `onZoneRulesChanged` / `onPauseChanged` (only GridManagement) and `onReferencePrice` /
 * `onReferenceHeartbeat` (only PriceOracle), which the contract checks itself.
 */
export const FUNCTION_ROLES: Record<RestrictedContract, FunctionRoles> = {
  GridManagement: {
    ADMIN: [
      "createZone",
      "setZoneActive",
      "setFeeSchedule",
      "setCapacity",
      "setEmissionFactor",
      "setTreasury",
      "setComplianceLimits",
      "setTradingInterval",
      "setZoneOperator",
      "unpause",
      "setMarket",
    ],
    // The contract additionally requires the caller to be an operator of the zone (setZoneOperator).
    GRID_OPERATOR: ["haltZone", "resumeZone"],
    GUARDIAN: ["pause"],
  },
  SmartMeter: {
    ADMIN: ["setMaxFutureSkew", "setEnergyToken", "setGreenCertificate", "setAssetRegistry"],
    METER_REGISTRAR: ["registerMeter", "setMeterActive", "setDeviceSigner", "setRatedCapacity"],
    ORACLE_OPERATOR: ["submitReadings"],
  },
  PriceOracle: { ADMIN: [...ORACLE_ADMIN, "setMarket"] },
  GridOracle: ORACLE_GOVERNANCE,
  WeatherOracle: ORACLE_GOVERNANCE,
  Settlement: { ADMIN: ["setProtocolTreasury"] },
  EnergyTrading: { ADMIN: ["setMaxFillsPerCall", "setPriceBand", "setStaleReferencePolicy", "setProtocolFee"] },
};

const ARTIFACTS_DIR = new URL("../../artifacts/contracts/", import.meta.url);

/**
 * The 4-byte selectors of `functionNames` on `contractName`, from its compiled ABI. Throws if a name is
 * missing or overloaded, so a renamed function breaks the deployment build instead of silently leaving
 * the new name ADMIN-only and the old selector assigned.
 */
export function selectorsOf(contractName: string, functionNames: readonly string[]): string[] {
  const artifactUrl = new URL(`${contractName}.sol/${contractName}.json`, ARTIFACTS_DIR);
  const { abi } = JSON.parse(readFileSync(artifactUrl, "utf8")) as { abi: ConstructorParameters<typeof Interface>[0] };
  const contractInterface = new Interface(abi);
  return functionNames.map((name) => {
    const fragment = contractInterface.getFunction(name);
    if (fragment === null) throw new Error(`${contractName} has no function "${name}" (permission table is stale)`);
    return fragment.selector;
  });
}
