/**
 * The chain through viem: the meter registry (MeterDirectory), SmartMeter.submitReadings (ReadingsChain) and
 * oracle report relaying. Transactions are signed locally with the operator's key, so the bridge knows every
 * transaction hash before anything is broadcast and can record it first (crash recovery, fee bumping).
 */
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  defineChain,
  encodeFunctionData,
  http,
  keccak256,
  parseEventLogs,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
} from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { abis } from "../generated/contracts.ts";
import type { SignedReading } from "../domain/reading.ts";
import type { MeterDirectory, MeterInfo } from "../ports/meterDirectory.ts";
import type { BroadcastResult, Fees, MinedBatch, ReadingsChain } from "../ports/readingsChain.ts";
import type { ReadingOutcome } from "../ports/readingStore.ts";

/** ISmartMeter.RejectionReason names, in enum order. */
export const CONTRACT_REJECTION_REASONS = [
  "UnknownMeter",
  "MeterInactive",
  "InvalidSignature",
  "SequenceNotIncreasing",
  "SequenceTooLarge",
  "TimestampNotAfterLast",
  "TimestampInFuture",
  "ProductionRegisterDecreased",
  "ConsumptionRegisterDecreased",
  "ProductionExceedsCapacity",
  "ConsumptionExceedsCapacity",
  "RegisterOutOfRange",
] as const;

export function localChain(chainId: number, rpcUrl: string): Chain {
  return defineChain({
    id: chainId,
    name: chainId === 31337 ? "GridX local" : `chain ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

export function publicClientFor(chain: Chain, rpcUrl: string, timeoutMs = 10_000): PublicClient {
  // viem's own retries are off: the services decide when and how often to retry.
  // Receipts are polled every 250 ms (viem's default is 4 s, tuned for public RPCs).
  return createPublicClient({ chain, transport: http(rpcUrl, { retryCount: 0, timeout: timeoutMs }), pollingInterval: 250 });
}

interface CacheEntry {
  info: MeterInfo | null;
  atMs: number;
}

/** MeterDirectory reading SmartMeter.getMeter, with a short cache (positive and negative). */
export class ChainMeterDirectory implements MeterDirectory {
  readonly #client: PublicClient;
  readonly #smartMeter: Address;
  readonly #cache = new Map<bigint, CacheEntry>();
  readonly #ttlMs: number;
  readonly #negativeTtlMs: number;
  readonly #now: () => number;

  constructor(
    client: PublicClient,
    smartMeter: Address,
    options: { ttlMs?: number; negativeTtlMs?: number; now?: () => number } = {},
  ) {
    this.#client = client;
    this.#smartMeter = smartMeter;
    this.#ttlMs = options.ttlMs ?? 60_000;
    this.#negativeTtlMs = options.negativeTtlMs ?? 30_000;
    this.#now = options.now ?? Date.now;
  }

  async lookup(meterId: bigint, options: { fresh?: boolean } = {}): Promise<MeterInfo | null> {
    const now = this.#now();
    const cached = this.#cache.get(meterId);
    if (cached !== undefined && options.fresh !== true) {
      const ttl = cached.info === null ? this.#negativeTtlMs : this.#ttlMs;
      if (now - cached.atMs < ttl) return cached.info;
    }
    const info = await this.#read(meterId);
    if (this.#cache.size > 100_000) this.#cache.clear(); // bounded: garbage meter ids cannot grow it forever
    this.#cache.set(meterId, { info, atMs: now });
    return info;
  }

  async #read(meterId: bigint): Promise<MeterInfo | null> {
    if (meterId === 0n || meterId > 0xffffffffffffffffn) return null;
    try {
      const meter = await this.#client.readContract({
        address: this.#smartMeter,
        abi: abis.SmartMeter,
        functionName: "getMeter",
        args: [meterId],
      });
      return {
        meterId,
        owner: meter.owner,
        zone: Number(meter.zone),
        kind: Number(meter.kind),
        active: meter.active,
        deviceSigner: meter.deviceSigner,
        ratedCapacityW: Number(meter.ratedCapacityW),
      };
    } catch (error) {
      if (isRevertNamed(error, "SmartMeterUnknownMeter")) return null;
      throw error;
    }
  }
}

function isRevertNamed(error: unknown, name: string): boolean {
  if (!(error instanceof BaseError)) return false;
  const revert = error.walk((e) => e instanceof ContractFunctionRevertedError);
  return revert instanceof ContractFunctionRevertedError && revert.data?.errorName === name;
}

/** Gas for a batch: generous for a meter's first reading of a day (~52k) plus the call's fixed cost. */
export function batchGasLimit(readings: number): bigint {
  return 120_000n + 65_000n * BigInt(readings);
}

export class ViemReadingsChain implements ReadingsChain {
  readonly sender: Address;
  readonly #client: PublicClient;
  readonly #account: PrivateKeyAccount;
  readonly #smartMeter: Address;
  readonly #chainId: number;

  constructor(client: PublicClient, account: PrivateKeyAccount, smartMeter: Address, chainId: number) {
    this.#client = client;
    this.#account = account;
    this.#smartMeter = smartMeter;
    this.#chainId = chainId;
    this.sender = account.address;
  }

  async pendingNonce(): Promise<number> {
    return this.#client.getTransactionCount({ address: this.sender, blockTag: "pending" });
  }

  async minedNonce(): Promise<number> {
    return this.#client.getTransactionCount({ address: this.sender, blockTag: "latest" });
  }

  async suggestedFees(): Promise<Fees> {
    const { maxFeePerGas, maxPriorityFeePerGas } = await this.#client.estimateFeesPerGas();
    return { maxFeePerGas, maxPriorityFeePerGas };
  }

  async sign(readings: SignedReading[], nonce: number, fees: Fees): Promise<{ txHash: Hex; rawTx: Hex }> {
    const data = encodeFunctionData({
      abi: abis.SmartMeter,
      functionName: "submitReadings",
      args: [
        readings.map((r) => ({
          meterId: r.meterId,
          seq: r.seq,
          timestamp: r.timestamp,
          productionWh: r.productionWh,
          consumptionWh: r.consumptionWh,
          voltage_mV: r.voltage_mV,
          frequency_mHz: r.frequency_mHz,
        })),
        readings.map((r) => r.signature),
      ],
    });
    const rawTx = await this.#account.signTransaction({
      type: "eip1559",
      chainId: this.#chainId,
      to: this.#smartMeter,
      data,
      nonce,
      gas: batchGasLimit(readings.length),
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      value: 0n,
    });
    return { txHash: keccak256(rawTx), rawTx };
  }

  async broadcast(rawTx: Hex): Promise<BroadcastResult> {
    try {
      await this.#client.sendRawTransaction({ serializedTransaction: rawTx });
      return { kind: "sent" };
    } catch (error) {
      const message = errorText(error);
      if (/already known|already imported|known transaction/i.test(message)) return { kind: "known" };
      if (/nonce too low|nonce has already been used|NonceTooLow|lower than the current nonce/i.test(message)) {
        return { kind: "nonce_used" };
      }
      throw error;
    }
  }

  async mined(txHash: Hex): Promise<MinedBatch | null> {
    let receipt;
    try {
      receipt = await this.#client.getTransactionReceipt({ hash: txHash });
    } catch (error) {
      if (errorText(error).includes("could not be found")) return null;
      throw error;
    }
    const outcomes: ReadingOutcome[] = [];
    const logs = parseEventLogs({
      abi: abis.SmartMeter,
      logs: receipt.logs.filter((log) => log.address.toLowerCase() === this.#smartMeter.toLowerCase()),
      eventName: ["ReadingAccepted", "ReadingRejected"],
    });
    for (const log of logs) {
      if (log.eventName === "ReadingAccepted") {
        outcomes.push({ meterId: log.args.meterId, seq: log.args.seq, accepted: true });
      } else {
        outcomes.push({
          meterId: log.args.meterId,
          seq: log.args.seq,
          accepted: false,
          reason: CONTRACT_REJECTION_REASONS[log.args.reason] ?? `Reason${log.args.reason}`,
        });
      }
    }
    return { status: receipt.status, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed, outcomes };
  }
}

export function errorText(error: unknown): string {
  if (error instanceof BaseError) return `${error.shortMessage} ${error.details ?? ""} ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
