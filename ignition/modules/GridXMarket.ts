import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import GridXCoreModule from "./GridXCore.ts";
import GridXOraclesModule from "./GridXOracles.ts";
import MockStablecoinModule from "./MockStablecoin.ts";

/**
 * The market: Settlement (the escrow vault for the payment token and EnergyToken credits) and
 * EnergyTrading (the per-zone order book), wired with `settlement.setEnergyTrading`, which the vault
 * accepts once, and with `gridManagement.setMarket` and `priceOracle.setMarket` (also once each), through
 * which those two push every trading-rules change and every reference price to the market. The payment
 * token is the local MockStablecoin.
 *
 * Parameters: `protocolTreasury`, `protocolFeeBps` (Settlement); `tickSize` (payment-token base units per
 * kWh, a multiple of 1000), `maxFillsPerCall`, `priceBandBps`, `staleReferencePolicy` (0 = Unbanded,
 * 1 = Refuse) (EnergyTrading).
 */
export default buildModule("GridXMarket", (m) => {
  const { accessManager, gridManagement, energyToken } = m.useModule(GridXCoreModule);
  const { priceOracle } = m.useModule(GridXOraclesModule);
  const { mockStablecoin } = m.useModule(MockStablecoinModule);

  const settlement = m.contract("Settlement", [
    accessManager,
    gridManagement,
    mockStablecoin,
    energyToken,
    m.getParameter<string>("protocolTreasury"),
    m.getParameter<number>("protocolFeeBps"),
  ]);
  const energyTrading = m.contract("EnergyTrading", [
    accessManager,
    settlement,
    gridManagement,
    priceOracle,
    m.getParameter<number>("tickSize"),
    m.getParameter<number>("maxFillsPerCall"),
    m.getParameter<number>("priceBandBps"),
    m.getParameter<number>("staleReferencePolicy"),
  ]);
  m.call(settlement, "setEnergyTrading", [energyTrading]);
  // EnergyTrading checks copies of the zones' trading rules and of the reference prices, pushed by their
  // owners in the same transaction as every change; each accepts the market once.
  m.call(gridManagement, "setMarket", [energyTrading]);
  m.call(priceOracle, "setMarket", [energyTrading]);

  return { settlement, energyTrading };
});
