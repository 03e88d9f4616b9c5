import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import GridXCoreModule from "./GridXCore.ts";

/**
 * Green certificates and energy assets, wired into SmartMeter (each wiring is accepted once):
 * - `GreenCertificate` (ERC-1155, id = zone << 32 | YYYYMM): SmartMeter issues certificates for the
 *   renewable share of every redemption (`smartMeter.setGreenCertificate`).
 * - `EnergyAssetNFT` (ERC-721 production assets with fractional shares): SmartMeter reports the credits
 *   it mints to the registry per meter (`smartMeter.setAssetRegistry`).
 */
export default buildModule("GridXAssets", (m) => {
  const { gridManagement, smartMeter, energyToken } = m.useModule(GridXCoreModule);

  const greenCertificate = m.contract("GreenCertificate", [gridManagement, smartMeter]);
  m.call(smartMeter, "setGreenCertificate", [greenCertificate]);
  const energyAssetNft = m.contract("EnergyAssetNFT", [smartMeter, energyToken]);
  m.call(smartMeter, "setAssetRegistry", [energyAssetNft]);

  return { greenCertificate, energyAssetNft };
});
