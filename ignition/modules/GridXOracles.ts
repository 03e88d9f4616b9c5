import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import GridXCoreModule from "./GridXCore.ts";

/**
 * The k-of-n quorum oracles: PriceOracle, GridOracle and WeatherOracle, sharing one quorum.
 *
 * Parameters: `quorum`; per oracle `<price|grid|weather>HeartbeatSeconds` and `<price|grid|weather>Fields`,
 * one `{ min, max, maxDeviationBps }` per report field in the oracle's `Field` order.
 */
export default buildModule("GridXOracles", (m) => {
  const { accessManager, gridManagement } = m.useModule(GridXCoreModule);
  const quorum = m.getParameter<number>("quorum");

  const oracle = (contractName: "PriceOracle" | "GridOracle" | "WeatherOracle", key: "price" | "grid" | "weather") =>
    m.contract(contractName, [
      accessManager,
      gridManagement,
      quorum,
      m.getParameter<number>(`${key}HeartbeatSeconds`),
      m.getParameter(`${key}Fields`),
    ]);
  const priceOracle = oracle("PriceOracle", "price");
  const gridOracle = oracle("GridOracle", "grid");
  const weatherOracle = oracle("WeatherOracle", "weather");

  return { priceOracle, gridOracle, weatherOracle };
});
