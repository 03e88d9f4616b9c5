/**
 * EIP-712 typed data of the GridX quorum oracles, exactly as an oracle operator signs an observation.
 * The oracle-bridge mirrors this module; keep it in sync with each oracle's `REPORT_TYPEHASH` (the
 * signing test checks that the type strings below hash to it).
 *
 * An observation signs `{zone, round, observedAt, ...fields}`; the fields, in this order, are also the
 * order of `Observation.values` on-chain. Every field is one 32-byte word, so a signed field (int32
 * temperature) goes on-chain as the same negative int256.
 */
import type { TypedDataDomain, TypedDataField } from "ethers";

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
} as const satisfies Record<string, { domainName: string; primaryType: string; fields: readonly TypedDataField[] }>;

export type OracleName = keyof typeof ORACLE_REPORTS;

/** The `types` argument of `signTypedData` for `oracle`'s report. */
export function reportTypes(oracle: OracleName): Record<string, TypedDataField[]> {
  const { primaryType, fields } = ORACLE_REPORTS[oracle];
  return { [primaryType]: [...HEADER, ...fields].map((field) => ({ ...field })) };
}

/** The canonical type string, e.g. `PriceReport(uint32 zone,...,uint64 demandW)`; its keccak256 is REPORT_TYPEHASH. */
export function reportTypeString(oracle: OracleName): string {
  const { primaryType } = ORACLE_REPORTS[oracle];
  const fields = reportTypes(oracle)[primaryType].map(({ name, type }) => `${type} ${name}`);
  return `${primaryType}(${fields.join(",")})`;
}

/** The signing domain of one deployed oracle. */
export function reportDomain(oracle: OracleName, chainId: bigint, verifyingContract: string): TypedDataDomain {
  return { name: ORACLE_REPORTS[oracle].domainName, version: ORACLE_DOMAIN_VERSION, chainId, verifyingContract };
}

/** The `value` argument of `signTypedData`: the header plus `values` named in field order. */
export function reportMessage(
  oracle: OracleName,
  zone: bigint,
  round: bigint,
  observedAt: bigint,
  values: readonly bigint[],
): Record<string, bigint> {
  const { fields } = ORACLE_REPORTS[oracle];
  if (values.length !== fields.length) {
    throw new Error(`${oracle} reports ${fields.length} values, got ${values.length}`);
  }
  const message: Record<string, bigint> = { zone, round, observedAt };
  fields.forEach(({ name }, i) => (message[name] = values[i]));
  return message;
}
