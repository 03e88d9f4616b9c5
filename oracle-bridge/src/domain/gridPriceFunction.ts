/**
 * The contract between the Chainlink Functions source `functions/grid-price.js`, the bridge and
 * FunctionsPriceFeed: the request's string args and the 96-byte response. Pure: no I/O.
 */
import type { PricingConfig } from "./gridStability.ts";

/** A grid-price request: the zone, its supply and demand (W), and optionally non-default pricing. */
export interface GridPriceRequest {
  zone: bigint;
  supplyW: bigint;
  demandW: bigint;
  pricing?: PricingConfig;
}

/** The DON's answer: abi.encode(uint256 pricePerKWh, uint256 supplyW, uint256 demandW). */
export interface GridPriceAnswer {
  pricePerKWh: bigint;
  supplyW: bigint;
  demandW: bigint;
}

/** Response length: three 32-byte words. */
export const GRID_PRICE_RESPONSE_BYTES = 96;

/** The `args` of grid-price.js: [zone, supplyW, demandW] plus [base, elasticity, min, max, decimals] if given. */
export function gridPriceArgs(request: GridPriceRequest): string[] {
  const args = [request.zone.toString(), request.supplyW.toString(), request.demandW.toString()];
  const { pricing } = request;
  if (pricing === undefined) return args;
  return [...args, pricing.base, pricing.elasticity, pricing.min, pricing.max, pricing.decimals.toString()];
}

/** Decodes a grid-price.js response (0x-prefixed hex); throws unless it is exactly three words. */
export function decodeGridPriceResponse(hex: string): GridPriceAnswer {
  if (!/^0x([0-9a-fA-F]{2})*$/.test(hex)) throw new Error(`grid-price response ${JSON.stringify(hex)} is not hex bytes`);
  const bytes = (hex.length - 2) / 2;
  if (bytes !== GRID_PRICE_RESPONSE_BYTES) {
    throw new Error(`grid-price response has ${bytes} bytes, expected ${GRID_PRICE_RESPONSE_BYTES}`);
  }
  const word = (index: number) => BigInt(`0x${hex.slice(2 + index * 64, 2 + (index + 1) * 64)}`);
  return { pricePerKWh: word(0), supplyW: word(1), demandW: word(2) };
}
