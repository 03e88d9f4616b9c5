import type { Address } from "viem";

/** What the bridge needs to know about a registered meter (ISmartMeter.Meter, as of a recent block). */
export interface MeterInfo {
  meterId: bigint;
  owner: Address;
  zone: number;
  kind: number; // ISmartMeter.MeterKind: 0 SolarProsumer, 1 Consumer, 2 Hybrid, 3 Battery
  active: boolean;
  deviceSigner: Address;
  ratedCapacityW: number;
}

/** The meter registry as the bridge sees it. `lookup` throws only when the chain cannot be asked. */
export interface MeterDirectory {
  /** The meter, or null when it is not registered. `fresh` bypasses any cache. */
  lookup(meterId: bigint, options?: { fresh?: boolean }): Promise<MeterInfo | null>;
}
