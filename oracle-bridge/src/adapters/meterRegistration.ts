/**
 * Registers simulated meters in SmartMeter, and looks up what the chain already knows about them (ids
 * by serial, latest accepted readings), through viem. Registration needs an account holding
 * METER_REGISTRAR.
 */
import {
  type Account,
  type Address,
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  getAddress,
  type Hex,
  http,
  isAddressEqual,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import type { Logger } from "pino";
import { abis } from "../generated/contracts.ts";
import type { LatestRegisters } from "../domain/simulation/groundTruth.ts";

const smartMeterAbi = abis.SmartMeter;

/** Hardhat's local chain. */
export const LOCAL_CHAIN_ID = 31337;
/**
 * Hardhat account #6, METER_REGISTRAR in ignition/parameters/localhost.json. A well-known development key:
 * it only ever controls the local chain.
 */
export const LOCAL_METER_REGISTRAR_KEY: Hex = "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e";
const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";
/** Hardhat accounts #10–#15 own the simulated meters on the local chain, so the dApp has owners to log in as. */
const LOCAL_OWNER_ACCOUNT_INDEXES = [10, 11, 12, 13, 14, 15] as const;

export function localMeterOwners(): Address[] {
  return LOCAL_OWNER_ACCOUNT_INDEXES.map((addressIndex) => mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex }).address);
}

/** A meter as registerMeter takes it. */
export interface MeterRegistration {
  serial: string;
  owner: Address;
  zone: number;
  kind: number;
  deviceSigner: Address;
  ratedCapacityW: number;
}

export interface ChainConnection {
  chain: Chain;
  publicClient: PublicClient<Transport, Chain>;
}

/** Connects to `rpcUrl` and learns its chain id; rejects when the node does not answer. */
export async function connectChain(rpcUrl: string): Promise<ChainConnection> {
  const probe = createPublicClient({ transport: http(rpcUrl, { retryCount: 1, timeout: 10_000 }) });
  const chainId = await probe.getChainId();
  const chain = defineChain({
    id: chainId,
    name: chainId === LOCAL_CHAIN_ID ? "Hardhat" : `chain ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  return { chain, publicClient: createPublicClient({ chain, transport: http(rpcUrl) }) };
}

/** Fails unless a contract is deployed at `smartMeter` (a wrong address or a restarted chain). */
export async function assertSmartMeterDeployed(connection: ChainConnection, smartMeter: Address): Promise<void> {
  const code = await connection.publicClient.getCode({ address: smartMeter });
  if (code === undefined || code === "0x") {
    throw new Error(`no contract at SmartMeter address ${smartMeter} on chain ${connection.chain.id}`);
  }
}

/** SmartMeter's id for each serial; serials not registered are absent from the map. */
export async function meterIdsBySerial(
  connection: ChainConnection,
  smartMeter: Address,
  serials: readonly string[],
): Promise<Map<string, bigint>> {
  const ids = new Map<string, bigint>();
  for (const serial of serials) {
    const id = await connection.publicClient.readContract({
      address: smartMeter,
      abi: smartMeterAbi,
      functionName: "meterIdBySerial",
      args: [serial],
    });
    if (id !== 0n) ids.set(serial, id);
  }
  return ids;
}

/** The on-chain registration of a meter, to check it is the one the simulator signs for. */
export async function registeredDeviceSigner(connection: ChainConnection, smartMeter: Address, meterId: bigint): Promise<Address> {
  const meter = await connection.publicClient.readContract({
    address: smartMeter,
    abi: smartMeterAbi,
    functionName: "getMeter",
    args: [meterId],
  });
  return meter.deviceSigner;
}

/** The latest accepted reading of a meter (seq 0 before its first). */
export async function latestReading(connection: ChainConnection, smartMeter: Address, meterId: bigint): Promise<LatestRegisters> {
  const latest = await connection.publicClient.readContract({
    address: smartMeter,
    abi: smartMeterAbi,
    functionName: "getLatestReading",
    args: [meterId],
  });
  return {
    seq: latest.seq,
    timestamp: latest.timestamp,
    productionWh: latest.productionWh,
    consumptionWh: latest.consumptionWh,
  };
}

export interface RegistrationResult {
  serial: string;
  meterId: bigint;
  /** False when the serial was registered already (by an earlier run with the same seed). */
  registered: boolean;
}

/**
 * Registers every meter whose serial SmartMeter does not know yet, one transaction at a time (each
 * waits for its receipt, so nonces never collide), and returns every meter's id. A serial registered
 * with a different device signer is an error: its readings would all be refused.
 */
export async function registerMeters(params: {
  connection: ChainConnection;
  smartMeter: Address;
  registrarKey: Hex;
  meters: readonly MeterRegistration[];
  logger: Logger;
}): Promise<RegistrationResult[]> {
  const { connection, smartMeter, logger } = params;
  const registrar: Account = privateKeyToAccount(params.registrarKey);
  const wallet: WalletClient<Transport, Chain, Account> = createWalletClient({
    account: registrar,
    chain: connection.chain,
    transport: http(connection.chain.rpcUrls.default.http[0]),
  });
  const known = await meterIdsBySerial(connection, smartMeter, params.meters.map((m) => m.serial));
  const results: RegistrationResult[] = [];
  for (const meter of params.meters) {
    const existing = known.get(meter.serial);
    if (existing !== undefined) {
      const signer = await registeredDeviceSigner(connection, smartMeter, existing);
      if (!isAddressEqual(signer, meter.deviceSigner)) {
        throw new Error(
          `serial ${meter.serial} is registered as meter ${existing} with device signer ${signer}, not ${meter.deviceSigner}`,
        );
      }
      results.push({ serial: meter.serial, meterId: existing, registered: false });
      continue;
    }
    // Simulating first surfaces a revert (missing role, unknown zone) as a decoded error before any gas is spent.
    const { request, result: meterId } = await connection.publicClient.simulateContract({
      account: registrar,
      address: smartMeter,
      abi: smartMeterAbi,
      functionName: "registerMeter",
      args: [getAddress(meter.owner), meter.zone, meter.kind, getAddress(meter.deviceSigner), meter.ratedCapacityW, meter.serial],
    });
    const hash = await wallet.writeContract(request);
    const receipt = await connection.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`registerMeter(${meter.serial}) reverted in transaction ${hash}`);
    // The simulated id is only a guess if someone else registered in between; the chain is authoritative.
    const [registeredId] = [...(await meterIdsBySerial(connection, smartMeter, [meter.serial])).values()];
    if (registeredId === undefined) throw new Error(`registerMeter(${meter.serial}) succeeded but the serial has no id`);
    if (registeredId !== meterId) logger.debug({ serial: meter.serial, simulated: meterId, actual: registeredId }, "meter id moved");
    logger.info(
      { serial: meter.serial, meterId: registeredId, zone: meter.zone, kind: meter.kind, owner: meter.owner, tx: hash },
      "meter registered",
    );
    results.push({ serial: meter.serial, meterId: registeredId, registered: true });
  }
  return results;
}
