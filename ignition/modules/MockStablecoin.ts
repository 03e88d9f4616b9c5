import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/** The local-chain payment token (6 decimals, open faucet). Never deploy it where a real stablecoin exists. */
export default buildModule("GridXMockStablecoin", (m) => {
  const mockStablecoin = m.contract("MockStablecoin");
  return { mockStablecoin };
});
