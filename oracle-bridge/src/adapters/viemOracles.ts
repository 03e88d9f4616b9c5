/**
 * Posting quorum-oracle reports through viem. The bridge signs one EIP-712 observation per configured operator
 * key (each key must hold ORACLE_OPERATOR; the oracles need `quorum` distinct signers), orders them by signer
 * address as QuorumOracle requires, and relays them with `submitReport` from the relayer account. Posts are
 * serialized, so the relayer's nonces never race. Also reads zone capacities from GridManagement.
 */
import { createWalletClient, http, type Address, type Chain, type Hex, type PublicClient } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { abis } from "../generated/contracts.ts";
import {
  reportDomain,
  signObservation,
  sortObservations,
  type OracleName,
} from "../domain/oracleReports.ts";
import type { OracleReporter, PostedReport, ZoneDirectory } from "../ports/oracles.ts";

export class ViemOracleReporter implements OracleReporter {
  readonly #client: PublicClient;
  readonly #wallet: ReturnType<typeof createWalletClient>;
  readonly #relayer: PrivateKeyAccount;
  readonly #signers: PrivateKeyAccount[];
  readonly #addresses: Record<OracleName, Address>;
  readonly #chainId: number;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: {
    client: PublicClient;
    chain: Chain;
    rpcUrl: string;
    relayer: PrivateKeyAccount;
    signers: PrivateKeyAccount[];
    addresses: Record<OracleName, Address>;
  }) {
    this.#client = options.client;
    this.#relayer = options.relayer;
    this.#signers = options.signers;
    this.#addresses = options.addresses;
    this.#chainId = options.chain.id;
    this.#wallet = createWalletClient({
      account: options.relayer,
      chain: options.chain,
      transport: http(options.rpcUrl, { retryCount: 0, timeout: 15_000 }),
    });
  }

  post(oracle: OracleName, zone: number, observedAt: bigint, values: bigint[]): Promise<PostedReport> {
    const run = this.#queue.then(() => this.#post(oracle, zone, observedAt, values));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #post(oracle: OracleName, zone: number, observedAt: bigint, values: bigint[]): Promise<PostedReport> {
    const address = this.#addresses[oracle];
    const header = await this.#client.readContract({
      address,
      abi: abis.PriceOracle, // the QuorumOracle part of the ABI is the same for the three oracles
      functionName: "reportHeader",
      args: [zone],
    });
    const round = header.round + 1n;
    const domain = reportDomain(oracle, this.#chainId, address);
    const observations = sortObservations(
      await Promise.all(
        this.#signers.map((signer) => signObservation(signer, oracle, domain, { zone, round, observedAt, values })),
      ),
    );
    const txHash: Hex = await this.#wallet.writeContract({
      address,
      abi: abis.PriceOracle,
      functionName: "submitReport",
      args: [zone, round, observations],
      account: this.#relayer,
      chain: this.#wallet.chain,
    });
    const receipt = await this.#client.waitForTransactionReceipt({ hash: txHash, timeout: 60_000 });
    if (receipt.status !== "success") throw new Error(`${oracle} report for zone ${zone} reverted in ${txHash}`);
    return { txHash, round, blockNumber: receipt.blockNumber };
  }
}

export class ChainZoneDirectory implements ZoneDirectory {
  readonly #client: PublicClient;
  readonly #gridManagement: Address;
  readonly #capacity = new Map<number, { capacityW: bigint; atMs: number }>();

  constructor(client: PublicClient, gridManagement: Address) {
    this.#client = client;
    this.#gridManagement = gridManagement;
  }

  async capacityW(zone: number): Promise<bigint> {
    const cached = this.#capacity.get(zone);
    if (cached !== undefined && Date.now() - cached.atMs < 300_000) return cached.capacityW;
    const [config, interval] = await Promise.all([
      this.#client.readContract({
        address: this.#gridManagement,
        abi: abis.GridManagement,
        functionName: "getZone",
        args: [zone],
      }),
      this.#client.readContract({ address: this.#gridManagement, abi: abis.GridManagement, functionName: "tradingInterval" }),
    ]);
    const capacityW = interval === 0 ? 0n : (BigInt(config.capacityWhPerInterval) * 3600n) / BigInt(interval);
    this.#capacity.set(zone, { capacityW, atMs: Date.now() });
    return capacityW;
  }
}
