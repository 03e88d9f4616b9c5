// GridX grid-stability price (Chainlink Functions source; FunctionsPriceFeed stores this file verbatim).
// Body of an async function run by the DON's Deno sandbox with `args` (strings) and `Functions`; no network.
// args: [zone, supplyW, demandW] or [zone, supplyW, demandW, base, elasticity, min, max, decimals]: zone 1..2^32-1,
// powers in W 0..2^63-1; pricing as decimal strings in payment-token units per kWh (elasticity per kW of
// demand - supply), defaults "6" "0.15" "3" "12" and 6 decimals.
// price = clamp(base + elasticity * (demandW - supplyW) / 1000, min, max) in base units per kWh, exact BigInt,
// the elasticity term rounded toward zero: the bridge's rule (oracle-bridge/src/domain/gridStability.ts).
// Returns abi.encode(uint256 pricePerKWh, uint256 supplyW, uint256 demandW); bad args throw a named Error.

const DEFAULT_PRICING = ["6", "0.15", "3", "12", "6"]
const MAX_ZONE = 2n ** 32n - 1n
const MAX_POWER_W = 2n ** 63n - 1n // PriceOracle's hard limit of supplyW and demandW (int64)
const MAX_PRICE = 2n ** 119n - 1n // PriceOracle's hard limit of pricePerKWh
const MAX_DECIMALS = 36
const INTEGER = /^(0|[1-9][0-9]*)$/
const DECIMAL_AMOUNT = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/

const fail = (message) => {
  throw new Error(`grid-price: ${message}`)
}

const parseInteger = (name, text, max) => {
  if (typeof text !== "string" || !INTEGER.test(text)) {
    fail(`${name} ${JSON.stringify(text)} is not a non-negative integer`)
  }
  const value = BigInt(text)
  if (value > max) fail(`${name} ${text} exceeds ${max}`)
  return value
}

// Exact decimal string → base units; refuses more fractional digits than the token has.
const toBaseUnits = (name, text, decimals) => {
  const match = typeof text === "string" ? DECIMAL_AMOUNT.exec(text) : null
  if (match === null) fail(`${name} ${JSON.stringify(text)} is not a non-negative decimal number like "6" or "0.15"`)
  const fraction = match[2] ?? ""
  if (fraction.length > decimals) {
    fail(`${name} "${text}" has ${fraction.length} fractional digits, the token has only ${decimals} decimals`)
  }
  return BigInt(match[1] + fraction.padEnd(decimals, "0"))
}

if (!Array.isArray(args) || (args.length !== 3 && args.length !== 8)) {
  fail(
    `expected args [zone, supplyW, demandW] or [zone, supplyW, demandW, base, elasticity, min, max, decimals], ` +
      `got ${Array.isArray(args) ? args.length : 0} argument(s)`,
  )
}

const zone = parseInteger("zone", args[0], MAX_ZONE)
if (zone === 0n) fail("zone 0 does not exist (zone ids start at 1)")
const supplyW = parseInteger("supplyW", args[1], MAX_POWER_W)
const demandW = parseInteger("demandW", args[2], MAX_POWER_W)

const [baseText, elasticityText, minText, maxText, decimalsText] = args.length === 8 ? args.slice(3) : DEFAULT_PRICING
const decimals = Number(parseInteger("decimals", decimalsText, BigInt(MAX_DECIMALS)))
const base = toBaseUnits("base", baseText, decimals)
const elasticity = toBaseUnits("elasticity", elasticityText, decimals)
const min = toBaseUnits("min", minText, decimals)
const max = toBaseUnits("max", maxText, decimals)
if (max > MAX_PRICE) fail(`max ${maxText} exceeds PriceOracle's limit of ${MAX_PRICE} base units`)
if (min > max) fail(`min ${minText} is above max ${maxText}`)
if (base < min) fail(`base ${baseText} is below min ${minText}`)
if (base > max) fail(`base ${baseText} is above max ${maxText}`)

const imbalanceW = demandW - supplyW
// BigInt division truncates toward zero.
const unclamped = base + (elasticity * imbalanceW) / 1000n
const price = unclamped < min ? min : unclamped > max ? max : unclamped

const response = new Uint8Array(96)
response.set(Functions.encodeUint256(price), 0)
response.set(Functions.encodeUint256(supplyW), 32)
response.set(Functions.encodeUint256(demandW), 64)
return response
