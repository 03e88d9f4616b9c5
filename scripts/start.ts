/**
 * `npm start`: the whole GridX system that exists so far, on one machine, on the embedded defaults:
 *   - a local chain (`hardhat node`, chain id 31337) on 127.0.0.1,
 *   - every contract deployed and wired with Ignition (ignition/modules/GridX.ts, ignition/parameters/localhost.json),
 *   - the oracle bridge with its embedded MQTT broker (aedes), ingesting readings and posting them and the zones'
 *     grid-stability prices on chain,
 *   - the meter simulator: 12 meters of the four kinds in both zones, registered on chain, signing and publishing
 *     readings every 5 s with the day accelerated 60×.
 * Prints the URLs and addresses and runs until Ctrl-C. Every start is a fresh chain, so the bridge's data
 * directory (.gridx-run/) is reset too.
 *
 * Environment: GRIDX_RPC_PORT (8545), GRIDX_MQTT_PORT (1883), GRIDX_BRIDGE_HTTP_PORT (9464),
 * GRIDX_SIM_METERS (12).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, openSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const hardhat = join(root, "node_modules", ".bin", "hardhat");
const host = "127.0.0.1";
const port = portFromEnv("GRIDX_RPC_PORT", 8545);
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

function portFromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0 || value > 65_535) {
    throw new Error(`${name} must be a TCP port, got "${process.env[name]}"`);
  }
  return value;
}

function deploy(): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, "scripts", "deploy-local.ts"), "--rpc", rpcUrl], {
      cwd: root,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`the deployment failed (exit ${code})`));
      try {
        resolve(JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as Record<string, string>);
      } catch (error) {
        reject(error);
      }
    });
  });
}

async function main(): Promise<void> {
  const mqttPort = portFromEnv("GRIDX_MQTT_PORT", 1883);
  const httpPort = portFromEnv("GRIDX_BRIDGE_HTTP_PORT", 9464);
  const meters = Number(process.env.GRIDX_SIM_METERS ?? 12);
  if (await portInUse()) {
    throw new Error(`${host}:${port} is already in use: stop what runs there or set GRIDX_RPC_PORT`);
  }

  const children: ChildProcess[] = [];
  let shuttingDown = false;
  const shutdown = async (code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    // Simulator first, then the bridge (it finishes its step and closes its store), the chain last.
    for (const child of [...children].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    process.exit(code);
  };
  process.once("SIGINT", () => void shutdown(0));
  process.once("SIGTERM", () => void shutdown(0));
  const watch = (name: string, child: ChildProcess) => {
    children.push(child);
    child.once("exit", (code, signal) => {
      if (shuttingDown) return;
      process.stderr.write(`${name} exited (${code ?? signal}); stopping everything\n`);
      void shutdown(code ?? 1);
    });
  };

  process.stdout.write(`Starting a local chain on ${rpcUrl} ...\n`);
  watch(
    "the local chain",
    // Run by this Node (≥ 22.13), whatever `node` the PATH would pick for Hardhat's shebang.
    spawn(process.execPath, [hardhat, "--network", "localNode", "node", "--hostname", host, "--port", String(port)], {
      cwd: root,
      stdio: ["ignore", "ignore", "inherit"],
    }),
  );
  const deadline = Date.now() + 300_000;
  while (!(await rpcReady())) {
    if (Date.now() > deadline) throw new Error(`the local chain did not answer on ${rpcUrl} within 300 s`);
    await new Promise((r) => setTimeout(r, 250));
  }

  process.stdout.write("Deploying GridX with Ignition ...\n");
  const addresses = await deploy();

  const runDir = join(root, ".gridx-run");
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  const bridgeCli = join(root, "oracle-bridge", "src", "cli", "main.ts");
  const bridgeLog = join(runDir, "bridge.log");
  const simulatorLog = join(runDir, "simulator.log");
  const bridge = spawn(
    process.execPath,
    [bridgeCli, "run", "--rpc", rpcUrl, "--mqtt-port", String(mqttPort), "--http-port", String(httpPort), "--data-dir", join(runDir, "bridge")],
    { cwd: join(root, "oracle-bridge"), stdio: ["ignore", openSync(bridgeLog, "a"), openSync(bridgeLog, "a")], env: { ...process.env, GRIDX_CHAIN_ID: "31337" } },
  );
  watch("the oracle bridge", bridge);
  const healthUrl = `http://${host}:${httpPort}/health`;
  while (!(await fetch(healthUrl).then((r) => r.status > 0, () => false))) {
    if (Date.now() > deadline) throw new Error(`the oracle bridge did not answer on ${healthUrl}; see ${bridgeLog}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  watch(
    "the meter simulator",
    spawn(
      process.execPath,
      [bridgeCli, "simulate", "--meters", String(meters), "--zones", "1,2", "--interval", "5", "--accelerate", "60", "--register", "--broker", `mqtt://${host}:${mqttPort}`, "--rpc", rpcUrl],
      { cwd: join(root, "oracle-bridge"), stdio: ["ignore", openSync(simulatorLog, "a"), openSync(simulatorLog, "a")] },
    ),
  );

  const width = Math.max(...Object.keys(addresses).map((k) => k.length), 16);
  const line = (label: string, value: string) => `  ${label.padEnd(width)}  ${value}\n`;
  process.stdout.write(
    `\nGridX is running.\n\n` +
      line("JSON-RPC", `${rpcUrl}   (chain id 31337)`) +
      line("MQTT broker", `mqtt://${host}:${mqttPort}   (readings: gridx/v1/meters/<meterId>/reading)`) +
      line("bridge health", healthUrl) +
      line("bridge metrics", `http://${host}:${httpPort}/metrics`) +
      line("logs", `${bridgeLog}, ${simulatorLog}`) +
      "\nContracts:\n",
  );
  for (const [name, address] of Object.entries(addresses)) process.stdout.write(line(name, address));
  process.stdout.write(
    `\nA trader deposits into Settlement and trades on EnergyTrading (addresses above).\n` +
      `Accounts are Hardhat's default node accounts (see ignition/README.md for who holds which role).\n` +
      `Press Ctrl-C to stop.\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
