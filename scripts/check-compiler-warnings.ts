/**
 * Compiler warnings are errors in GridX. solc reports them in each build's output, which Hardhat keeps
 * in artifacts/build-info/*.output.json (also for cached builds, and pruned when sources go away), so
 * this check sees every warning of the current build, whether or not the compile ran just now.
 *
 *   npx hardhat build && node scripts/check-compiler-warnings.ts
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface SolcDiagnostic {
  severity: "error" | "warning" | "info";
  errorCode?: string;
  formattedMessage: string;
  sourceLocation?: { file: string };
}

/**
 * Code-size limits (runtime 5574, initcode 3860) bind what we deploy: a contract as compiled in its own job
 * (it is that job's root; builds are isolated, one root per job), whose settings may differ per file (see
 * the overrides in hardhat.config.ts). The same contract compiled inside a test's job, and the test harnesses
 * themselves, are never deployed to a real chain.
 */
const CODE_SIZE_WARNINGS = new Set(["5574", "3860"]);

const dir = "artifacts/build-info";
const outputs = readdirSync(dir).filter((name) => name.endsWith(".output.json"));
if (outputs.length === 0) throw new Error(`no build outputs in ${dir}: run \`npx hardhat build\` first`);

const seen = new Set<string>();
for (const name of outputs) {
  const { output } = JSON.parse(readFileSync(join(dir, name), "utf8")) as { output: { errors?: SolcDiagnostic[] } };
  const { userSourceNameMap } = JSON.parse(readFileSync(join(dir, name.replace(/\.output\.json$/, ".json")), "utf8")) as {
    userSourceNameMap: Record<string, string>;
  };
  const roots = new Set(Object.values(userSourceNameMap));
  for (const diagnostic of output.errors ?? []) {
    // Only our own sources (contracts and tests); dependencies are not ours to fix here.
    const file = diagnostic.sourceLocation?.file ?? "";
    if (diagnostic.severity !== "warning" || !file.startsWith("project/")) continue;
    const deployed = roots.has(file) && !file.startsWith("project/test/");
    if (!deployed && CODE_SIZE_WARNINGS.has(diagnostic.errorCode ?? "")) continue;
    seen.add(diagnostic.formattedMessage);
  }
}

if (seen.size > 0) {
  for (const message of seen) process.stderr.write(message);
  process.stderr.write(`${seen.size} compiler warning(s): warnings are errors in GridX\n`);
  process.exit(1);
}
process.stdout.write(`compiler warnings: none (${outputs.length} build outputs checked)\n`);
