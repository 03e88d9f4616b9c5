/**
 * EIP-712 typed data of a SmartMeter reading, exactly as a meter device signs it and the oracle-bridge
 * verifies it, from the bridge's own definition (oracle-bridge/src/domain/reading.ts).
 */
import type { TypedDataDomain, TypedDataField } from "ethers";
import {
  READING_TYPES,
  SMART_METER_DOMAIN_NAME,
  SMART_METER_DOMAIN_VERSION,
} from "../../oracle-bridge/src/domain/reading.ts";

/** The `Reading` struct of `ISmartMeter`; registers are cumulative since commissioning. */
export interface Reading {
  meterId: bigint;
  seq: bigint;
  timestamp: bigint;
  productionWh: bigint;
  consumptionWh: bigint;
  voltage_mV: bigint;
  frequency_mHz: bigint;
}

/** The fields of `Reading` in EIP-712 order: the oracle-bridge's definition, shared. */
export { READING_TYPES };

/** The canonical type string; its keccak256 is `SmartMeter.READING_TYPEHASH`. */
export const READING_TYPE_STRING =
  "Reading(uint64 meterId,uint64 seq,uint64 timestamp,uint64 productionWh,uint64 consumptionWh,uint32 voltage_mV,uint32 frequency_mHz)";

/** The SmartMeter's EIP-712 domain name and version (the contract's constructor fixes them). */
export { SMART_METER_DOMAIN_NAME, SMART_METER_DOMAIN_VERSION };

/** Anything that can answer ERC-5267 `eip712Domain()`, such as a SmartMeter contract. */
export interface Eip712DomainSource {
  eip712Domain(): Promise<[string, string, string, bigint, string, string, bigint[]]>;
}

/** A `signTypedData`-capable signer (an ethers Wallet or HardhatEthersSigner). */
export interface TypedDataSigner {
  signTypedData(
    domain: TypedDataDomain,
    types: Record<string, TypedDataField[]>,
    value: Record<string, unknown>,
  ): Promise<string>;
}

/** Reads the signing domain from the contract itself (ERC-5267), as the bridge does at start-up. */
export async function readingDomain(smartMeter: Eip712DomainSource): Promise<TypedDataDomain> {
  const [, name, version, chainId, verifyingContract] = await smartMeter.eip712Domain();
  return { name, version, chainId, verifyingContract };
}

/** Signs `reading` with a device key: a 65-byte `r ‖ s ‖ v` signature. */
export async function signReading(
  device: TypedDataSigner,
  domain: TypedDataDomain,
  reading: Reading,
): Promise<string> {
  return device.signTypedData(domain, mutableTypes(), { ...reading });
}

/** ethers wants mutable arrays; hand it a copy so `READING_TYPES` stays frozen in spirit. */
function mutableTypes(): Record<string, TypedDataField[]> {
  return { Reading: READING_TYPES.Reading.map((field) => ({ ...field })) };
}
