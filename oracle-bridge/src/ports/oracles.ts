import type { Hex } from "viem";
import type { OracleName } from "../domain/oracleReports.ts";

export interface PostedReport {
  txHash: Hex;
  round: bigint;
  blockNumber: bigint;
}

/** Posts one report (the values of `oracle`'s fields, in order) with the quorum of signatures it needs. */
export interface OracleReporter {
  post(oracle: OracleName, zone: number, observedAt: bigint, values: bigint[]): Promise<PostedReport>;
}

/** Zone facts from GridManagement. */
export interface ZoneDirectory {
  /** The zone's capacity as power: capacity per trading interval over the interval, W. */
  capacityW(zone: number): Promise<bigint>;
}
