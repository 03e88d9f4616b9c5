/**
 * Real processes for the integration tests: a Hardhat node with the whole system deployed (the same Ignition
 * module and parameters as `npm start`), the bridge as a child process (so it can be killed with SIGKILL),
 * the standalone broker, and a TCP proxy that can cut the bridge off from the chain.
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdtempSync } from "node:fs";
import { createServer, connect, type Server, type Socket, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { deployments } from "../../src/generated/contracts.ts";

export const BRIDGE_ROOT = join(import.meta.dirname, "..", "..");
export const REPO_ROOT = join(BRIDGE_ROOT, "..");
const BIN = join(REPO_ROOT, "node_modules", ".bin");
const NODE = process.execPath;
const env = { ...process.env, PATH: `${BIN}:${process.env.PATH ?? ""}` };

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `gridx-${prefix}-`));
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError === undefined ? "" : `: ${String(lastError)}`}`);
}

async function rpcAnswers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    });
    return response.ok;
  } catch {
    return false;
  }
}

function logTo(child: ChildProcess, file: string): void {
  const out = createWriteStream(file, { flags: "a" });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM", timeoutMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  await exited;
  clearTimeout(timer);
}

export interface LocalChain {
  rpcUrl: string;
  port: number;
  addresses: Record<string, `0x${string}`>;
  logFile: string;
  stop(): Promise<void>;
}

/** A fresh `hardhat node` with GridX deployed; the addresses are checked against the generated module. */
export async function startLocalChain(dir = tempDir("chain")): Promise<LocalChain> {
  const port = await freePort();
  const rpcUrl = `http://127.0.0.1:${port}`;
  const logFile = join(dir, "hardhat-node.log");
  const child = spawn(join(BIN, "hardhat"), ["--network", "localNode", "node", "--hostname", "127.0.0.1", "--port", String(port)], {
    cwd: REPO_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  logTo(child, logFile);
  await until("the Hardhat node", () => rpcAnswers(rpcUrl), 120_000, 250);
  const { stdout } = await promisify(execFile)(NODE, ["scripts/deploy-local.ts", "--rpc", rpcUrl], {
    cwd: REPO_ROOT,
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
  const line = stdout.trim().split("\n").at(-1) ?? "{}";
  const addresses = JSON.parse(line) as Record<string, `0x${string}`>;
  const expected = deployments[31337];
  for (const [name, address] of Object.entries(expected)) {
    if (addresses[name] !== address) {
      await stopChild(child);
      throw new Error(`${name} deployed at ${addresses[name]}, the generated module says ${address}: run npm run codegen`);
    }
  }
  return { rpcUrl, port, addresses, logFile, stop: () => stopChild(child) };
}

export interface BridgeProcess {
  child: ChildProcess;
  httpPort: number;
  logFile: string;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts `oracle-bridge run` as a child process and waits until its HTTP endpoint answers. */
export async function startBridgeProcess(options: {
  rpcUrl: string;
  mqtt: string | { embeddedPort: number };
  dataDir: string;
  httpPort?: number;
  extraEnv?: Record<string, string>;
  args?: string[];
}): Promise<BridgeProcess> {
  const httpPort = options.httpPort ?? (await freePort());
  const args = [
    join(BRIDGE_ROOT, "src", "cli", "main.ts"),
    "run",
    "--rpc",
    options.rpcUrl,
    "--data-dir",
    options.dataDir,
    "--http-port",
    String(httpPort),
    ...(typeof options.mqtt === "string" ? ["--mqtt", options.mqtt] : ["--mqtt-port", String(options.mqtt.embeddedPort)]),
    ...(options.args ?? []),
  ];
  const logFile = join(options.dataDir, "bridge.log");
  const child = spawn(NODE, args, { cwd: BRIDGE_ROOT, env: { ...env, ...options.extraEnv }, stdio: ["ignore", "pipe", "pipe"] });
  logTo(child, logFile);
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code, signal) => reject(new Error(`the bridge exited early (${code ?? signal}); see ${logFile}`))),
  );
  exited.catch(() => undefined);
  await Promise.race([until("the bridge's /health", () => fetch(`http://127.0.0.1:${httpPort}/health`).then((r) => r.status > 0), 60_000), exited]);
  return {
    child,
    httpPort,
    logFile,
    kill: () => stopChild(child, "SIGKILL"),
    stop: () => stopChild(child, "SIGTERM"),
  };
}

export interface BrokerProcess {
  port: number;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** `oracle-bridge broker` in its own process, persisting to `dataDir`. */
export async function startBrokerProcess(port: number, dataDir: string): Promise<BrokerProcess> {
  const child = spawn(NODE, [join(BRIDGE_ROOT, "src", "cli", "main.ts"), "broker", "--port", String(port), "--data-dir", dataDir], {
    cwd: BRIDGE_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  logTo(child, join(dataDir, "..", `broker-${port}.log`));
  await until("the broker", () => new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  }), 30_000);
  return { port, kill: () => stopChild(child, "SIGKILL"), stop: () => stopChild(child) };
}

/** `GET /metrics` as name{labels} → value. */
export async function scrapeMetrics(httpPort: number): Promise<Map<string, number>> {
  const body = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const metrics = new Map<string, number>();
  for (const line of body.split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const at = line.lastIndexOf(" ");
    metrics.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return metrics;
}

/**
 * A TCP proxy in front of the chain's RPC: `down()` refuses and cuts every connection (the chain "goes away"
 * for the bridge while it keeps running for everyone else), `up()` restores it.
 */
export class TcpProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #up = true;
  port = 0;

  constructor(targetPort: number) {
    this.#server = createServer((client) => {
      if (!this.#up) {
        client.destroy();
        return;
      }
      const upstream = connect(targetPort, "127.0.0.1");
      this.#sockets.add(client).add(upstream);
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(upstream);
      };
      client.on("error", close).on("close", close);
      upstream.on("error", close).on("close", close);
      client.pipe(upstream).pipe(client);
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  down(): void {
    this.#up = false;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }

  up(): void {
    this.#up = true;
  }

  async close(): Promise<void> {
    this.down();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
