/**
 * Finds the Deno binary that Chainlink Functions simulation runs scripts in, and puts it on PATH.
 *
 * `simulateScript` (@chainlink/functions-toolkit) spawns `deno` by name, so Deno must be on PATH. The `deno`
 * npm package ships the binary in a per-platform optional dependency (`@deno/linux-x64-glibc`, …); its install
 * script copies it to `node_modules/deno/deno`, but installs that skip scripts (`--ignore-scripts`, some CI
 * caches) never run it. So the binary is resolved here from either place, without relying on the install
 * script, and its directory is put first on PATH for this process and its children.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { arch, platform } from "node:os";
import { delimiter, dirname, join } from "node:path";

const EXE = platform() === "win32" ? "deno.exe" : "deno";

/** The `@deno/*` package holding this platform's binary, as the `deno` package's installer names it. */
export function denoPlatformPackage(): string {
  const os = platform();
  const cpu = arch();
  if (cpu !== "x64" && cpu !== "arm64") throw new Error(`deno: no binary for CPU architecture ${cpu}`);
  if (os === "linux") return `@deno/linux-${cpu}-glibc`;
  if (os === "darwin" || os === "win32") return `@deno/${os}-${cpu}`;
  throw new Error(`deno: no binary for platform ${os}`);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Absolute path of the Deno binary: `node_modules/deno/deno` when the install script ran, else the binary in
 * the platform package next to it, else a `deno` already on PATH (returned as "deno"). Throws with what was
 * tried when there is none. `from` is the file packages are resolved from (default: this module).
 */
export function resolveDenoBinary(options: { from?: string; allowPath?: boolean } = {}): string {
  const require = createRequire(options.from ?? import.meta.url);
  const tried: string[] = [];
  try {
    const denoPackageDir = dirname(require.resolve("deno/package.json"));
    const installed = join(denoPackageDir, EXE);
    tried.push(installed);
    if (existsSync(installed) && isExecutable(installed)) return installed;

    const fromDeno = createRequire(join(denoPackageDir, "package.json"));
    const pkg = denoPlatformPackage();
    const shipped = join(dirname(fromDeno.resolve(`${pkg}/package.json`)), EXE);
    tried.push(shipped);
    if (existsSync(shipped) && isExecutable(shipped)) return shipped;
  } catch (error) {
    tried.push(`(npm packages: ${(error as Error).message.split("\n")[0]})`);
  }
  if (options.allowPath ?? true) {
    tried.push("deno on PATH");
    if (spawnSync("deno", ["--version"], { stdio: "ignore" }).status === 0) return "deno";
  }
  throw new Error(
    `Deno not found (tried ${tried.join(", ")}). Run \`npm install\` in the repository root: the oracle-bridge ` +
      "workspace depends on the `deno` npm package.",
  );
}

/**
 * Makes `deno` resolvable by name for this process and every child it spawns: prepends the resolved binary's
 * directory to PATH (once). Returns the binary's path.
 */
export function ensureDenoOnPath(): string {
  const binary = resolveDenoBinary();
  if (binary === "deno") return binary;
  const dir = dirname(binary);
  const entries = (process.env.PATH ?? "").split(delimiter);
  if (entries[0] !== dir) process.env.PATH = [dir, ...entries.filter((entry) => entry !== dir)].join(delimiter);
  return binary;
}
