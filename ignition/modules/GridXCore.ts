import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/**
 * The metering core: the AccessManager every contract answers to, GridManagement (zones), SmartMeter
 * (meter registry and reading ingestion) and EnergyToken (kWh credits, minted only by SmartMeter), wired
 * together. The deployer is the AccessManager's first ADMIN; governance takes the role over later.
 *
 * Parameters: `tradingIntervalSeconds` (GridManagement), `maxFutureSkewSeconds` (SmartMeter).
 */
export default buildModule("GridXCore", (m) => {
  const deployer = m.getAccount(0);

  const accessManager = m.contract("GridXAccessManager", [deployer]);
  const gridManagement = m.contract("GridManagement", [
    accessManager,
    m.getParameter<number>("tradingIntervalSeconds"),
  ]);
  const smartMeter = m.contract("SmartMeter", [
    accessManager,
    gridManagement,
    m.getParameter<number>("maxFutureSkewSeconds"),
  ]);
  const energyToken = m.contract("EnergyToken", [smartMeter]);
  m.call(smartMeter, "setEnergyToken", [energyToken]);

  return { accessManager, gridManagement, smartMeter, energyToken };
});
