/**
 * EIP-712 typed data of the GridX quorum oracles, exactly as an oracle operator signs an observation.
 * The field lists come from the oracle-bridge's domain module, so the bridge and these tests sign the same
 * types; the signing test checks that the type strings hash to each oracle's `REPORT_TYPEHASH`.
 *
 * An observation signs `{zone, round, observedAt, ...fields}`; the fields, in this order, are also the
 * order of `Observation.values` on-chain. Every field is one 32-byte word, so a signed field (int32
 * temperature) goes on-chain as the same negative int256.
 */
import type { TypedDataDomain, TypedDataField } from "ethers";

import { ORACLE_DOMAIN_VERSION, ORACLE_REPORTS } from "../../oracle-bridge/src/domain/oracleReports.ts";

// One definition of the report types for the bridge that signs them and for these tests.
export { ORACLE_DOMAIN_VERSION, ORACLE_REPORTS };

const HEADER = [
  { name: "zone", type: "uint32" },
  { name: "round", type: "uint64" },
  { name: "observedAt", type: "uint64" },
] as const;

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
