/**
 * Reads coverage/lcov.info (written by `hardhat test --coverage`) and fails when any shipped contract
 * (everything under contracts/ except contracts/mocks/) is below the line-coverage floor.
 *
 *   node scripts/check-coverage.ts [--min 95] [--lcov coverage/lcov.info]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    min: { type: "string", default: "95" },
    lcov: { type: "string", default: "coverage/lcov.info" },
  },
});
const floor = Number(values.min);
if (!Number.isFinite(floor) || floor < 0 || floor > 100) {
  throw new Error(`--min must be a percentage between 0 and 100, got "${values.min}"`);
}

interface FileCoverage {
  file: string;
  linesFound: number;
  linesHit: number;
}

function parseLcov(text: string): FileCoverage[] {
  const files: FileCoverage[] = [];
  let current: FileCoverage | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("SF:")) current = { file: line.slice(3).trim(), linesFound: 0, linesHit: 0 };
    else if (line.startsWith("LF:") && current) current.linesFound = Number(line.slice(3));
    else if (line.startsWith("LH:") && current) current.linesHit = Number(line.slice(3));
    else if (line.startsWith("end_of_record") && current) {
      files.push(current);
      current = undefined;
    }
  }
  return files;
}

const shipped = parseLcov(readFileSync(values.lcov, "utf8")).filter(
  (f) => f.file.startsWith("contracts/") && !f.file.startsWith("contracts/mocks/"),
);
if (shipped.length === 0) {
  throw new Error(`no shipped contracts found in ${values.lcov}: did the coverage run happen?`);
}

const failures: string[] = [];
const width = Math.max(...shipped.map((f) => f.file.length));
process.stdout.write(`Line coverage of shipped contracts (floor ${floor}%)\n`);
for (const f of shipped.sort((a, b) => a.file.localeCompare(b.file))) {
  const pct = f.linesFound === 0 ? 100 : (100 * f.linesHit) / f.linesFound;
  const ok = pct >= floor;
  if (!ok) failures.push(`${f.file} ${pct.toFixed(2)}%`);
  process.stdout.write(
    `  ${f.file.padEnd(width)}  ${pct.toFixed(2).padStart(6)}%  (${f.linesHit}/${f.linesFound})${ok ? "" : "  BELOW FLOOR"}\n`,
  );
}
if (failures.length > 0) {
  process.stderr.write(`coverage below ${floor}%: ${failures.join(", ")}\n`);
  process.exit(1);
}
