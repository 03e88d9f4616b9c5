/**
 * The list-shaped part of a GridX deployment: which zones to create (with their grid operators) and
 * which accounts receive which role.
 *
 * Ignition modules have a fixed shape: a parameter can set a value but cannot add a future, so the
 * number of zones and role members has to be known when the module is built. GridX.ts therefore reads
 * the same parameters file the deploy command is given (see `resolveParametersFile`) and builds one
 * `createZone` / `grantRole` future per entry. Every other setting stays an Ignition parameter.
 */
import path from "node:path";
import { readDeploymentParameters } from "@nomicfoundation/hardhat-ignition/helpers";
import type { DeploymentParameters, ModuleParameters } from "@nomicfoundation/ignition-core";
import { getAddress } from "ethers";

/** Module ids whose parameter blocks hold the plan. */
export const ROLES_MODULE_ID = "GridXRoles";
export const ZONES_MODULE_ID = "GridXZones";
export const ORACLES_MODULE_ID = "GridXOracles";

/** Parameters file used when neither the environment nor the command line names one (tests, bench). */
export const DEFAULT_PARAMETERS_FILE = "ignition/parameters/localhost.json";
/** Environment variable that names the parameters file explicitly. */
export const PARAMETERS_FILE_ENV = "GRIDX_IGNITION_PARAMETERS";

/** `IGridManagement.ZoneConfig`, as ethers encodes it (a type alias, so Ignition accepts it as an argument). */
export type ZoneConfig = {
  name: string;
  treasury: string;
  emissionFactor_gCO2ePerKWh: number;
  capacityWhPerInterval: number | bigint;
  fees: { peakFeeBps: number; offPeakFeeBps: number; peakStartHour: number; peakEndHour: number };
  limits: {
    minOrderWh: number | bigint;
    maxOrderWh: number | bigint;
    maxDailyTradedWhPerAccount: number | bigint;
  };
};

export interface ZonePlan {
  config: ZoneConfig;
  /** Accounts that may halt and resume this zone; each also receives GRID_OPERATOR. */
  operators: string[];
}

export interface DeploymentPlan {
  /** In creation order: zone ids are 1, 2, ... in this order. */
  zones: ZonePlan[];
  /** Every zone operator once, in order of first appearance. */
  gridOperators: string[];
  oracleOperators: string[];
  meterRegistrars: string[];
  guardians: string[];
}

/**
 * The parameters file to shape the module from, in order: `$GRIDX_IGNITION_PARAMETERS`, the
 * `--parameters` option of the running Hardhat command (so `hardhat ignition deploy ... --parameters
 * <file>` shapes and parameterises the module from one file), then `DEFAULT_PARAMETERS_FILE`.
 */
export function resolveParametersFile(
  argv: readonly string[] = process.argv,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const fromEnv = env[PARAMETERS_FILE_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return path.resolve(fromEnv);
  const flagIndex = argv.indexOf("--parameters");
  const fromFlag =
    flagIndex >= 0 ? argv[flagIndex + 1] : argv.find((arg) => arg.startsWith("--parameters="))?.slice("--parameters=".length);
  if (fromFlag !== undefined) {
    if (!/\.json5?$/.test(fromFlag)) {
      throw new Error(
        `GridX.ts is shaped by its parameters file: pass --parameters <file.json|file.json5> (got "${fromFlag}")`,
      );
    }
    return path.resolve(fromFlag);
  }
  return path.resolve(DEFAULT_PARAMETERS_FILE);
}

/** Reads a parameters file exactly as `hardhat ignition deploy --parameters` does (JSON5, `"123n"` bigints). */
export async function readParametersFile(file: string): Promise<DeploymentParameters> {
  return readDeploymentParameters(file);
}

/** Validates the list-shaped part of `parameters`; every message names the offending field. */
export function planFrom(parameters: DeploymentParameters): DeploymentPlan {
  const roles = moduleBlock(parameters, ROLES_MODULE_ID);
  const zonesBlock = moduleBlock(parameters, ZONES_MODULE_ID);

  const zoneEntries = zonesBlock.zones;
  if (!Array.isArray(zoneEntries) || zoneEntries.length === 0) {
    throw new Error(`${ZONES_MODULE_ID}.zones must be a non-empty array`);
  }
  const zones = zoneEntries.map((entry, index) => zonePlan(entry, `${ZONES_MODULE_ID}.zones[${index}]`));
  const names = zones.map((zone) => zone.config.name);
  const duplicateName = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicateName !== undefined) throw new Error(`${ZONES_MODULE_ID}.zones: zone name "${duplicateName}" appears twice`);

  const plan: DeploymentPlan = {
    zones,
    gridOperators: [...new Set(zones.flatMap((zone) => zone.operators))],
    oracleOperators: addressList(roles.oracleOperators, `${ROLES_MODULE_ID}.oracleOperators`),
    meterRegistrars: addressList(roles.meterRegistrars, `${ROLES_MODULE_ID}.meterRegistrars`),
    guardians: addressList(roles.guardians, `${ROLES_MODULE_ID}.guardians`),
  };

  // The AccessManager cannot enumerate role members, so the oracles cannot check this themselves.
  const quorum = parameters[ORACLES_MODULE_ID]?.quorum;
  if (typeof quorum === "number" && quorum > plan.oracleOperators.length) {
    throw new Error(
      `${ORACLES_MODULE_ID}.quorum is ${quorum} but ${ROLES_MODULE_ID}.oracleOperators has only ${plan.oracleOperators.length} accounts`,
    );
  }
  return plan;
}

function moduleBlock(parameters: DeploymentParameters, moduleId: string): ModuleParameters {
  const block = parameters[moduleId];
  if (block === undefined || typeof block !== "object") throw new Error(`parameters need a "${moduleId}" block`);
  return block;
}

function zonePlan(entry: unknown, field: string): ZonePlan {
  if (!isRecord(entry)) throw new Error(`${field} must be an object with "config" and "operators"`);
  const { config, operators } = entry;
  if (!isRecord(config)) throw new Error(`${field}.config must be an IGridManagement.ZoneConfig object`);
  if (typeof config.name !== "string" || config.name === "") throw new Error(`${field}.config.name must be a non-empty string`);
  for (const key of ["fees", "limits"] as const) {
    if (!isRecord(config[key])) throw new Error(`${field}.config.${key} must be an object`);
  }
  return {
    config: { ...(config as unknown as ZoneConfig), treasury: address(config.treasury, `${field}.config.treasury`) },
    operators: addressList(operators, `${field}.operators`),
  };
}

function addressList(value: unknown, field: string): string[] {
  if (!Array.isArray(value)) throw new Error(`${field} must be an array of addresses`);
  const addresses = value.map((item, index) => address(item, `${field}[${index}]`));
  const duplicate = addresses.find((item, index) => addresses.indexOf(item) !== index);
  if (duplicate !== undefined) throw new Error(`${field}: ${duplicate} appears twice`);
  return addresses;
}

function address(value: unknown, field: string): string {
  if (typeof value !== "string") throw new Error(`${field} must be an address string`);
  try {
    return getAddress(value);
  } catch {
    throw new Error(`${field} is not a valid (checksummed) address: ${value}`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
