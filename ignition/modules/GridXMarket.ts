import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import GridXCoreModule from "./GridXCore.ts";
import GridXOraclesModule from "./GridXOracles.ts";
import MockStablecoinModule from "./MockStablecoin.ts";

/**
 * The market: EnergyTrading (the per-zone order book) and Settlement (the escrow vault for the payment token
 * and EnergyToken credits), which EnergyTrading's constructor deploys so that the vault knows its only caller
 * from birth; wired with `gridManagement.setMarket` and `priceOracle.setMarket` (once each), through which
 * those two push every trading-rules change and every reference price to the market. The payment token is the
 * local MockStablecoin.
 *
 * Parameters: `protocolTreasury` (Settlement); `protocolFeeBps` (the market's initial protocol fee rate, governed
 * on EnergyTrading, which passes it to the vault with each settle), `tickSize` (payment-token base units per
 * kWh, a multiple of 1000), `maxFillsPerCall`, `priceBandBps`, `staleReferencePolicy` (0 = Unbanded,
 * 1 = Refuse) (EnergyTrading).
 */
export default buildModule("GridXMarket", (m) => {
  const { accessManager, gridManagement, energyToken } = m.useModule(GridXCoreModule);
  const { priceOracle } = m.useModule(GridXOraclesModule);
  const { mockStablecoin } = m.useModule(MockStablecoinModule);

  const energyTrading = m.contract("EnergyTrading", [
    accessManager,
    {
      paymentToken: mockStablecoin,
      energyToken,
      protocolTreasury: m.getParameter<string>("protocolTreasury"),
      protocolFeeBps: m.getParameter<number>("protocolFeeBps"),
    },
    gridManagement,
    priceOracle,
    m.getParameter<number>("tickSize"),
    m.getParameter<number>("maxFillsPerCall"),
    m.getParameter<number>("priceBandBps"),
    m.getParameter<number>("staleReferencePolicy"),
  ]);
  const settlement = m.contractAt("Settlement", m.staticCall(energyTrading, "settlement", []));
  // EnergyTrading checks copies of the zones' trading rules and of the reference prices, pushed by their
  // owners in the same transaction as every change; each accepts the market once.
  m.call(gridManagement, "setMarket", [energyTrading]);
  m.call(priceOracle, "setMarket", [energyTrading]);

  return { settlement, energyTrading };
});
