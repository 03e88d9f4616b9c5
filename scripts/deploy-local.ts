/**
 * Deploys the whole system (ignition/modules/GridX.ts with ignition/parameters/localhost.json) to a running
 * local node and prints the deployed addresses as JSON (contract name → address) on stdout.
 *
 *   node scripts/deploy-local.ts [--rpc http://127.0.0.1:8545]
 *
 * The same Ignition module and parameters as `npm run deploy:local`, run from a script with a 50 ms block
 * polling interval: against an automining node that takes seconds instead of the CLI's minutes. The deployment
 * journal is temporary; `npm start` and the bridge's integration tests use it on a fresh chain every time.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { rpc: { type: "string" } }, strict: true });
if (values.rpc !== undefined) process.env.GRIDX_RPC_URL = values.rpc;
// After the environment is set: hardhat.config.ts reads GRIDX_RPC_URL when Hardhat loads.
const { default: hre } = await import("hardhat");

const { default: GridXModule } = await import("../ignition/modules/GridX.ts");
const { readParametersFile } = await import("../ignition/lib/deploymentPlan.ts");
const { CONTRACT_OF_RESULT } = await import("./codegen.ts");
const parameters = await readParametersFile(new URL("../ignition/parameters/localhost.json", import.meta.url).pathname);
const connection = await hre.network.connect({ network: "localhost" });
// A journal of its own, deleted afterwards: Ignition would otherwise resume the journal of an earlier deployment
// to another chain with the same id (ignition/deployments/chain-31337) and deploy nothing.
const deploymentId = `deploy-local-${process.pid}-${Date.now()}`;
const journal = join(hre.config.paths.ignition, "deployments", deploymentId);
let deployed: Record<string, { getAddress(): Promise<string> }>;
try {
  deployed = (await connection.ignition.deploy(GridXModule, {
    parameters,
    deploymentId,
    config: { blockPollingInterval: 50 },
  })) as Record<string, { getAddress(): Promise<string> }>;
} finally {
  rmSync(journal, { recursive: true, force: true });
}
const addresses: Record<string, string> = {};
for (const [key, contract] of Object.entries(deployed)) addresses[CONTRACT_OF_RESULT[key] ?? key] = await contract.getAddress();
process.stdout.write(`${JSON.stringify(addresses)}\n`);
await connection.close();
