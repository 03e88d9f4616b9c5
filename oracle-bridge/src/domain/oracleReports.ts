/**
 * EIP-712 typed data of the GridX quorum oracles (PriceOracle, GridOracle, WeatherOracle), exactly as an
 * oracle operator signs an observation; mirrors test/helpers/oracleTypedData.ts of the contracts with viem
 * types. Keep it in sync with each oracle's REPORT_TYPEHASH (the unit tests check the type strings).
 *
 * An observation signs `{zone, round, observedAt, ...fields}`; the fields, in this order, are also the order
 * of `Observation.values` on chain. Every field is one 32-byte word, so a signed field (int32 temperature)
 * goes on chain as the same negative int256: the values are bigints in both places. Pure: no I/O.
 */
import { hashTypedData, type Address, type Hex, type TypedDataDomain } from "viem";
import type { LocalAccount } from "viem/accounts";

/** Every oracle's EIP-712 domain version; the name is per oracle (below), chainId and contract bind it. */
export const ORACLE_DOMAIN_VERSION = "1";

const HEADER = [
  { name: "zone", type: "uint32" },
  { name: "round", type: "uint64" },
  { name: "observedAt", type: "uint64" },
] as const;

/** Domain name, primary type and field list of each oracle. */
export const ORACLE_REPORTS = {
  PriceOracle: {
    domainName: "GridX PriceOracle",
    primaryType: "PriceReport",
    fields: [
      { name: "pricePerKWh", type: "uint128" }, // payment-token base units per kWh
      { name: "supplyW", type: "uint64" },
      { name: "demandW", type: "uint64" },
    ],
  },
  GridOracle: {
    domainName: "GridX GridOracle",
    primaryType: "GridReport",
    fields: [
      { name: "supplyW", type: "uint64" },
      { name: "demandW", type: "uint64" },
      { name: "status", type: "uint8" }, // 0 Balanced, 1 Oversupply, 2 Shortage
      { name: "healthBps", type: "uint16" }, // 0–10000 = 0–100 %
      { name: "frequency_mHz", type: "uint32" },
      { name: "voltage_mV", type: "uint32" },
      { name: "headroomW", type: "uint64" },
    ],
  },
  WeatherOracle: {
    domainName: "GridX WeatherOracle",
    primaryType: "WeatherReport",
    fields: [
      { name: "irradiance_Wm2", type: "uint32" },
      { name: "temperature_cC", type: "int32" }, // centi-degrees Celsius
      { name: "cloudCoverBps", type: "uint16" }, // 0–10000
      { name: "condition", type: "uint8" }, // Clear, PartlyCloudy, Overcast, Rain, Snow, Storm, Fog
    ],
  },
} as const satisfies Record<
  string,
  { domainName: string; primaryType: string; fields: readonly { name: string; type: string }[] }
>;

export type OracleName = keyof typeof ORACLE_REPORTS;
export const ORACLE_NAMES = Object.keys(ORACLE_REPORTS) as OracleName[];

/** One EIP-712 field. */
export interface ReportField {
  name: string;
  type: string;
}

/** Header and report fields of `oracle`, in signing order (fresh objects: safe to modify). */
function reportFields(oracle: OracleName): ReportField[] {
  return [...HEADER, ...ORACLE_REPORTS[oracle].fields].map((field) => ({ name: field.name, type: field.type }));
}

/** The `types` argument of `signTypedData` for `oracle`'s report (fresh objects: safe to modify). */
export function reportTypes(oracle: OracleName): Record<string, ReportField[]> {
  return { [ORACLE_REPORTS[oracle].primaryType]: reportFields(oracle) };
}

/** The canonical type string, e.g. `PriceReport(uint32 zone,...,uint64 demandW)`; its keccak256 is REPORT_TYPEHASH. */
export function reportTypeString(oracle: OracleName): string {
  const fields = reportFields(oracle).map(({ name, type }) => `${type} ${name}`);
  return `${ORACLE_REPORTS[oracle].primaryType}(${fields.join(",")})`;
}

/** The signing domain of one deployed oracle. */
export function reportDomain(oracle: OracleName, chainId: number | bigint, verifyingContract: Address): TypedDataDomain {
  return { name: ORACLE_REPORTS[oracle].domainName, version: ORACLE_DOMAIN_VERSION, chainId, verifyingContract };
}

type Integer = bigint | number;

/** PriceOracle values in field order: [pricePerKWh, supplyW, demandW]. */
export function priceValues(report: { pricePerKWh: Integer; supplyW: Integer; demandW: Integer }): bigint[] {
  return [report.pricePerKWh, report.supplyW, report.demandW].map(BigInt);
}

/** GridOracle values in field order: [supplyW, demandW, status, healthBps, frequency_mHz, voltage_mV, headroomW]. */
export function gridValues(report: {
  supplyW: Integer;
  demandW: Integer;
  status: Integer;
  healthBps: Integer;
  frequency_mHz: Integer;
  voltage_mV: Integer;
  headroomW: Integer;
}): bigint[] {
  return [
    report.supplyW,
    report.demandW,
    report.status,
    report.healthBps,
    report.frequency_mHz,
    report.voltage_mV,
    report.headroomW,
  ].map(BigInt);
}

/** WeatherOracle values in field order: [irradiance_Wm2, temperature_cC, cloudCoverBps, condition]. */
export function weatherValues(report: {
  irradiance_Wm2: Integer;
  temperature_cC: Integer;
  cloudCoverBps: Integer;
  condition: Integer;
}): bigint[] {
  return [report.irradiance_Wm2, report.temperature_cC, report.cloudCoverBps, report.condition].map(BigInt);
}

/** The range of an EIP-712 `uintN` / `intN` type. */
function typeRange(type: string): { min: bigint; max: bigint } {
  const match = /^(u?)int(\d+)$/.exec(type);
  if (match === null) throw new Error(`unsupported EIP-712 type ${type}`);
  const bits = BigInt(Number(match[2]));
  return match[1] === "u"
    ? { min: 0n, max: (1n << bits) - 1n }
    : { min: -(1n << (bits - 1n)), max: (1n << (bits - 1n)) - 1n };
}

/** Header and values of one observation. */
export interface ObservationInput {
  zone: Integer;
  round: Integer;
  observedAt: Integer;
  values: readonly bigint[];
}

/**
 * The `message` argument of `signTypedData`: the header plus `values` named in field order. Throws an Error
 * naming the field when the count is wrong or a value does not fit its EIP-712 type, rather than letting the
 * signer fail with an encoder message (or sign something the contract cannot store).
 */
export function reportMessage(oracle: OracleName, input: ObservationInput): Record<string, bigint> {
  const { fields, primaryType } = ORACLE_REPORTS[oracle];
  if (input.values.length !== fields.length) {
    throw new Error(`${oracle} reports ${fields.length} values, got ${input.values.length}`);
  }
  const words = [BigInt(input.zone), BigInt(input.round), BigInt(input.observedAt), ...input.values];
  const message: Record<string, bigint> = {};
  reportFields(oracle).forEach(({ name, type }, i) => {
    const { min, max } = typeRange(type);
    const value = words[i];
    if (typeof value !== "bigint" || value < min || value > max) {
      throw new Error(`${primaryType}.${name}: ${String(value)} does not fit ${type} [${min}, ${max}]`);
    }
    message[name] = value;
  });
  return message;
}

/** The EIP-712 digest an operator signs; equals the oracle's on-chain `reportDigest`. */
export function reportDigest(oracle: OracleName, domain: TypedDataDomain, input: ObservationInput): Hex {
  return hashTypedData({
    domain,
    types: reportTypes(oracle),
    primaryType: ORACLE_REPORTS[oracle].primaryType,
    message: reportMessage(oracle, input),
  });
}

/** `IQuorumOracle.Observation`: one operator's signed observation, as `submitReport` takes it. */
export interface Observation {
  signer: Address;
  observedAt: bigint;
  values: bigint[];
  signature: Hex;
}

/** Signs one observation with an operator key and packages it as the contract's Observation struct. */
export async function signObservation(
  account: LocalAccount,
  oracle: OracleName,
  domain: TypedDataDomain,
  input: ObservationInput,
): Promise<Observation> {
  const signature = await account.signTypedData({
    domain,
    types: reportTypes(oracle),
    primaryType: ORACLE_REPORTS[oracle].primaryType,
    message: reportMessage(oracle, input),
  });
  return { signer: account.address, observedAt: BigInt(input.observedAt), values: [...input.values], signature };
}

/**
 * The observations ordered by strictly ascending signer address (as numbers, so letter case is irrelevant),
 * the order `submitReport` requires (it reverts QuorumOracleSignersNotAscending otherwise). Throws when two
 * observations share a signer: one operator cannot count twice towards the quorum. Returns a new array.
 */
export function sortObservations<T extends { signer: Address }>(observations: readonly T[]): T[] {
  const keyed = observations.map((observation) => ({ observation, key: BigInt(observation.signer) }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  keyed.forEach(({ key, observation }, i) => {
    if (i > 0 && keyed[i - 1]?.key === key) {
      throw new Error(`sortObservations: signer ${observation.signer} signed more than one observation`);
    }
  });
  return keyed.map(({ observation }) => observation);
}
