import { createRequire } from "node:module";
import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { defineConfig } from "hardhat/config";

const require = createRequire(import.meta.url);

/** Pinned compiler: the npm `solc` package (soljson) so nothing is downloaded at build time. */
const SOLC_VERSION = "0.8.28";
const solc = {
  version: SOLC_VERSION,
  path: require.resolve("solc/soljson.js"),
  settings: {
    evmVersion: "cancun",
    optimizer: { enabled: true, runs: 10_000 },
  },
};

/**
 * EnergyTrading is the largest contract: at 10,000 optimizer runs it outgrows the 24,576-byte limit (EIP-170),
 * so it is optimized for fewer runs, which inlines less.
 */
const MARKET_OVERRIDES = {
  "contracts/EnergyTrading.sol": {
    ...solc,
    settings: { ...solc.settings, optimizer: { enabled: true, runs: 1_000 } },
  },
};

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  solidity: {
    profiles: {
      // isolated: one compilation job per root file; the wasm compiler runs out of memory on one job holding
      // every coverage-instrumented source at once.
      default: { compilers: [solc], overrides: MARKET_OVERRIDES, isolated: true },
      production: { compilers: [solc], overrides: MARKET_OVERRIDES, isolated: true },
    },
  },
  test: {
    solidity: {
      profiles: {
        // Everyday runs: ≥ 1,000 fuzz runs per property.
        default: {
          fuzz: { runs: 1_000 },
          invariant: { runs: 64, depth: 64 },
        },
        // CI and pre-release: heavier fuzzing and deeper stateful runs.
        ci: {
          fuzz: { runs: 5_000 },
          invariant: { runs: 256, depth: 128 },
        },
      },
    },
  },
  networks: {
    // The chain `npm start` and the oracle bridge's tests run (`hardhat node --network localNode`). Blocks may
    // share a timestamp, so a burst of transactions does not push the chain's clock ahead of the wall clock
    // (one second per block): oracle observations and meter readings are timed by the wall clock, and the
    // contracts judge their age by block.timestamp, as on a real chain.
    localNode: {
      type: "edr-simulated",
      chainType: "l1",
      chainId: 31337,
      allowBlocksWithSameTimestamp: true,
    },
    localhost: {
      type: "http",
      chainType: "l1",
      url: process.env.GRIDX_RPC_URL ?? "http://127.0.0.1:8545",
    },
  },
});
