/**
 * `npm start`: the whole GridX system that exists so far, on one machine. Starts a local chain
 * (`hardhat node`, chain id 31337) on 127.0.0.1, deploys and wires every contract with Ignition from
 * ignition/parameters/localhost.json, prints the addresses and the RPC URL, and keeps the chain running
 * until Ctrl-C.
 *
 * Environment: GRIDX_RPC_PORT (default 8545).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const hardhat = join(root, "node_modules", ".bin", "hardhat");
const host = "127.0.0.1";
const port = Number(process.env.GRIDX_RPC_PORT ?? 8545);
if (!Number.isInteger(port) || port <= 0 || port > 65_535) {
  throw new Error(`GRIDX_RPC_PORT must be a TCP port, got "${process.env.GRIDX_RPC_PORT}"`);
}
const rpcUrl = `http://${host}:${port}`;

function portInUse(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function rpcReady(): Promise<boolean> {
  try {
    const response = await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    });
    return response.ok;
  } catch {
    return false;
  }
}

function run(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(hardhat, args, { cwd: root, stdio: "inherit", env });
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`hardhat ${args[0]} exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  if (await portInUse()) {
    throw new Error(`${host}:${port} is already in use: stop what runs there or set GRIDX_RPC_PORT`);
  }

  process.stdout.write(`Starting a local chain on ${rpcUrl} ...\n`);
  const chain: ChildProcess = spawn(hardhat, ["--network", "localNode", "node", "--hostname", host, "--port", String(port)], {
    cwd: root,
    stdio: ["ignore", "ignore", "inherit"],
  });
  const stop = (signal: NodeJS.Signals) => {
    chain.kill(signal);
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  chain.once("exit", (code) => {
    process.stderr.write(`the local chain exited (${code})\n`);
    process.exit(code ?? 1);
  });

  const deadline = Date.now() + 120_000;
  while (!(await rpcReady())) {
    if (Date.now() > deadline) throw new Error(`the local chain did not answer on ${rpcUrl} within 120 s`);
    await new Promise((r) => setTimeout(r, 250));
  }

  // A fresh chain every start, so the previous deployment journal is reset.
  await run(
    [
      "ignition",
      "deploy",
      "ignition/modules/GridX.ts",
      "--network",
      "localhost",
      "--parameters",
      "ignition/parameters/localhost.json",
      "--reset",
    ],
    { ...process.env, GRIDX_RPC_URL: rpcUrl },
  );

  const addresses = JSON.parse(
    readFileSync(join(root, "ignition", "deployments", "chain-31337", "deployed_addresses.json"), "utf8"),
  ) as Record<string, string>;
  const width = Math.max(...Object.keys(addresses).map((k) => k.length));
  process.stdout.write(`\nGridX is running.\n\n  JSON-RPC   ${rpcUrl}   (chain id 31337)\n\n`);
  for (const [name, address] of Object.entries(addresses)) {
    process.stdout.write(`  ${name.padEnd(width)}  ${address}\n`);
  }
  // The two addresses a trader needs, named plainly: deposit into Settlement, trade on EnergyTrading.
  const market = { Settlement: "GridXMarket#Settlement", EnergyTrading: "GridXMarket#EnergyTrading" };
  process.stdout.write("\nMarket:\n");
  for (const [label, key] of Object.entries(market)) {
    const address = addresses[key];
    if (address === undefined) throw new Error(`the deployment has no ${key}`);
    process.stdout.write(`  ${label.padEnd(width)}  ${address}\n`);
  }
  process.stdout.write(
    `\nAccounts are Hardhat's default node accounts (see ignition/README.md for who holds which role).\n` +
      `Press Ctrl-C to stop.\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
