import { readFileSync } from "node:fs";
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import GridXCoreModule from "./GridXCore.ts";
import GridXOraclesModule from "./GridXOracles.ts";

/** The Chainlink Functions source the feed stores and the DON runs, verbatim. */
const GRID_PRICE_SOURCE = readFileSync(new URL("../../oracle-bridge/functions/grid-price.js", import.meta.url), "utf8");

/**
 * FunctionsPriceFeed: a Chainlink Functions consumer that writes the DON's grid price into PriceOracle as one
 * ERC-1271 reporter. Deploy-only and not part of `GridX.ts`: it needs a chain with a Functions router, a
 * subscription to bill and a DON id, which local chains do not have.
 *
 * Parameters: `functionsRouter` (address), `subscriptionId`, `donId` (bytes32 hex, e.g. the hex of
 * "fun-ethereum-sepolia-1" right-padded), `callbackGasLimit` (default 300000, the router's smallest tier).
 *
 * Once deployed on a governed system, a governance proposal wires it: `grantRole(ORACLE_OPERATOR, feed, 0)` so
 * PriceOracle accepts its observations, and `setTargetFunctionRole(feed, [requestPrice], <role>)` so that role
 * may request prices (unassigned, only ADMIN may); the subscription owner adds the feed as a consumer.
 */
export default buildModule("GridXFunctions", (m) => {
  const { accessManager } = m.useModule(GridXCoreModule);
  const { priceOracle } = m.useModule(GridXOraclesModule);

  const functionsPriceFeed = m.contract("FunctionsPriceFeed", [
    m.getParameter<string>("functionsRouter"),
    accessManager,
    priceOracle,
    {
      subscriptionId: m.getParameter<bigint>("subscriptionId"),
      callbackGasLimit: m.getParameter<number>("callbackGasLimit", 300_000),
      donId: m.getParameter<string>("donId"),
    },
    GRID_PRICE_SOURCE,
  ]);

  return { functionsPriceFeed };
});
