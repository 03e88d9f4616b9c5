/**
 * FunctionsPriceFeed end to end with Chainlink's own Functions contracts and a simulated DON.
 *
 * The Functions side is what @chainlink/functions-toolkit's `startLocalFunctionsTestnet` runs: its
 * `deployFunctionsOracle` deploys the LINK token, the LINK price feeds, the FunctionsRouter, the
 * FunctionsCoordinatorTestHelper and the allow list, `SubscriptionManager` creates and funds the subscription,
 * and each request is served as its DON does: the request's CBOR is decoded, the source runs in Deno through
 * `simulateScript` once per simulated node, the answers are aggregated and the coordinator's `callReport` has
 * the router call the consumer back. Only the chain differs. `startLocalFunctionsTestnet` runs everything on
 * Ganache 7.9.2, whose newest EVM is Shanghai, and GridX is compiled for Cancun: deploying FunctionsPriceFeed
 * there fails with "VM Exception while processing transaction: invalid opcode" (solc emits MCOPY, 0x5e, to copy
 * the source string in the constructor), and the contracts cannot be recompiled for Shanghai because
 * OpenZeppelin Contracts 5.6.1 (utils/Bytes.sol, under SignatureChecker) uses `mcopy` in assembly. So the same
 * toolkit contracts and DON loop run here on Hardhat's in-process chain, which is Cancun.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { network } from "hardhat";
import GridXFunctionsModule from "../ignition/modules/GridXFunctions.ts";
import { ensureDenoOnPath } from "../oracle-bridge/src/adapters/deno.ts";

const require = createRequire(import.meta.url);
// The toolkit is CommonJS on ethers v5; its own ethers and cbor are used to drive its contracts.
const toolkitPath = require.resolve("@chainlink/functions-toolkit");
const toolkit = require(toolkitPath);
const toolkitRequire = createRequire(toolkitPath);
const ethers5 = toolkitRequire("ethers");
const cbor = toolkitRequire("cbor");

const SOURCE_PATH = new URL("../oracle-bridge/functions/grid-price.js", import.meta.url);
const ORACLE_OPERATOR = 2n; // Roles.ORACLE_OPERATOR
const HEARTBEAT = 3_600;
const TRADING_INTERVAL = 900;
const CALLBACK_GAS_LIMIT = 300_000; // the router's smallest callback tier
const FULFILLED = 0; // FunctionsResponse.FulfillResult.FULFILLED
/** Hardhat's default account #1: owns the Functions contracts and the subscription (account #0 deploys GridX). */
const FUNCTIONS_ADMIN_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

const { ethers, ignition, provider } = await network.create();

/** Serves one Functions request exactly as the toolkit's local DON does; returns the router's RequestProcessed. */
async function serveRequest(coordinator: any, router: any, requestEvent: any) {
  const decoded: unknown[] = await cbor.decodeAll(Buffer.from(requestEvent.data.slice(2), "hex"));
  const request: Record<string, unknown> = {};
  for (let i = 0; i + 1 < decoded.length; i += 2) request[decoded[i] as string] = decoded[i + 1];

  const nodes = await Promise.all(
    Array.from({ length: toolkit.numberOfSimulatedNodeExecutions }, () =>
      toolkit.simulateScript({ source: request.source, args: request.args }),
    ),
  );
  const successes = nodes.filter((node: any) => node.errorString === undefined);
  const failures = nodes.filter((node: any) => node.errorString !== undefined);
  // Deterministic script: every node agrees, so the toolkit's median (or mode for errors) is that answer.
  const response: string | undefined =
    successes.length > failures.length ? successes[0].responseBytesHexstring : undefined;
  const error: string | undefined =
    response === undefined ? `0x${Buffer.from(failures[0].errorString).toString("hex")}` : undefined;

  const { commitment } = requestEvent;
  const encodedCommitment = ethers5.utils.defaultAbiCoder.encode(
    ["bytes32", "address", "uint96", "address", "uint64", "uint32", "uint72", "uint72", "uint40", "uint40", "uint32"],
    [
      commitment.requestId,
      commitment.coordinator,
      commitment.estimatedTotalCostJuels,
      commitment.client,
      commitment.subscriptionId,
      commitment.callbackGasLimit,
      commitment.adminFee,
      commitment.donFee,
      commitment.gasOverheadBeforeCallback,
      commitment.gasOverheadAfterCallback,
      commitment.timeoutTimestamp,
    ],
  );
  const report = ethers5.utils.defaultAbiCoder.encode(
    ["bytes32[]", "bytes[]", "bytes[]", "bytes[]", "bytes[]"],
    [[requestEvent.requestId], [response ?? []], [error ?? []], [encodedCommitment], [[]]],
  );
  // No priority fee: the transmitter must not pay more per gas than the request was quoted at, or the router
  // refuses the fulfillment (COST_EXCEEDS_COMMITMENT) and the consumer is never called.
  const block = await coordinator.provider.getBlock("latest");
  const tx = await coordinator.callReport(report, {
    gasLimit: toolkit.callReportGasLimit,
    maxFeePerGas: block.baseFeePerGas.mul(2),
    maxPriorityFeePerGas: 0,
  });
  const receipt = await tx.wait(1);
  const processed = receipt.logs
    .filter((log: any) => log.address === router.address)
    .map((log: any) => router.interface.parseLog(log))
    .find((event: any) => event.name === "RequestProcessed");
  return { request, processed, receipt };
}

/** Chainlink's side: router, coordinator, LINK, and a funded subscription owned by the Functions admin. */
async function deployFunctions() {
  ensureDenoOnPath();
  const functionsAdmin = new ethers5.Wallet(FUNCTIONS_ADMIN_KEY, new ethers5.providers.Web3Provider(provider as any));
  const functions = await toolkit.deployFunctionsOracle(functionsAdmin);
  const router = functions.functionsRouterContract;
  const subscriptions = new toolkit.SubscriptionManager({
    signer: functionsAdmin,
    linkTokenAddress: functions.linkTokenContract.address,
    functionsRouterAddress: router.address,
  });
  await subscriptions.initialize();
  const subscriptionId: number = await subscriptions.createSubscription();
  await subscriptions.fundSubscription({ subscriptionId, juelsAmount: ethers5.utils.parseEther("10").toString() });
  return {
    router,
    coordinator: functions.functionsMockCoordinatorContract,
    subscriptions,
    subscriptionId,
    donId: ethers5.utils.formatBytes32String(functions.donId) as string,
  };
}

const ZONE_CONFIG = (treasury: string) => ({
  name: "Riverside",
  treasury,
  emissionFactor_gCO2ePerKWh: 233,
  capacityWhPerInterval: 500_000,
  fees: { peakFeeBps: 150, offPeakFeeBps: 50, peakStartHour: 17, peakEndHour: 21 },
  limits: { minOrderWh: 100, maxOrderWh: 1_000_000, maxDailyTradedWhPerAccount: 5_000_000 },
});

/** Grants the feed ORACLE_OPERATOR, lets `requester` request, adds the feed to the subscription. */
async function wire(manager: any, feed: any, requester: { address: string }, functions: any) {
  const feedAddress = await feed.getAddress();
  await functions.subscriptions.addConsumer({ subscriptionId: functions.subscriptionId, consumerAddress: feedAddress });
  await manager.grantRole(ORACLE_OPERATOR, feedAddress, 0);
  await manager.grantRole(ORACLE_OPERATOR, requester.address, 0);
  await manager.setTargetFunctionRole(feedAddress, [feed.interface.getFunction("requestPrice").selector], ORACLE_OPERATOR);
}

/** Sends requestPrice and returns the coordinator's OracleRequest of it. */
async function requestPrice(feed: any, requester: any, coordinator: any, zone: bigint, supplyW: bigint, demandW: bigint) {
  const tx = await feed.connect(requester).requestPrice(zone, supplyW, demandW);
  const receipt = await tx.wait();
  const log = receipt.logs.find((entry: any) => entry.address.toLowerCase() === coordinator.address.toLowerCase());
  return coordinator.interface.parseLog(log).args;
}

async function deploy() {
  const functions = await deployFunctions();
  const [admin, requester] = await ethers.getSigners();

  const manager = await ethers.deployContract("GridXAccessManager", [admin.address]);
  const grid = await ethers.deployContract("GridManagement", [await manager.getAddress(), TRADING_INTERVAL]);
  await grid.createZone(ZONE_CONFIG(admin.address));
  const zone = 1n;
  const priceOracle = await ethers.deployContract("PriceOracle", [
    manager,
    grid,
    1, // quorum: the feed alone reports
    HEARTBEAT,
    [
      { min: 1n, max: 10n ** 12n, maxDeviationBps: 5_000 },
      { min: 0n, max: 2n ** 63n - 1n, maxDeviationBps: 0 },
      { min: 0n, max: 2n ** 63n - 1n, maxDeviationBps: 0 },
    ],
  ]);
  const source = readFileSync(SOURCE_PATH, "utf8");
  const feed = await ethers.deployContract("FunctionsPriceFeed", [
    functions.router.address,
    manager,
    priceOracle,
    { subscriptionId: functions.subscriptionId, callbackGasLimit: CALLBACK_GAS_LIMIT, donId: functions.donId },
    source,
  ]);
  await wire(manager, feed, requester, functions);

  const { router, coordinator } = functions;
  return {
    router,
    coordinator,
    manager,
    priceOracle,
    feed,
    zone,
    source,
    requestPrice: (supplyW: bigint, demandW: bigint) =>
      requestPrice(feed, requester, coordinator, zone, supplyW, demandW),
  };
}

describe("FunctionsPriceFeed end to end (Chainlink Functions router, coordinator and simulated DON)", function () {
  this.timeout(180_000);

  it("writes the price grid-price.js computes into PriceOracle", async function () {
    const { router, coordinator, priceOracle, feed, zone, source, requestPrice } = await deploy();

    const oracleRequest = await requestPrice(5_000_000n, 5_010_000n);
    const { request, processed } = await serveRequest(coordinator, router, oracleRequest);
    expect(request.source).to.equal(source);
    expect(request.args).to.deep.equal(["1", "5000000", "5010000"]);
    expect(processed.args.resultCode).to.equal(FULFILLED);

    // What the script computes for these args, run on its own: +10 kW of demand → 6 + 0.15 × 10 = 7.5.
    const alone = await toolkit.simulateScript({ source, args: ["1", "5000000", "5010000"] });
    const expected = BigInt(alone.responseBytesHexstring.slice(0, 66));
    expect(expected).to.equal(7_500_000n);

    const [price, observedAt, fresh] = await priceOracle.referencePrice(zone);
    expect(price).to.equal(expected);
    expect(fresh).to.equal(true);
    const [round, , , , values] = await priceOracle.latestReport(zone);
    expect(round).to.equal(1n);
    expect(values).to.deep.equal([7_500_000n, 5_000_000n, 5_010_000n]);

    const answer = await feed.latestAnswer(zone);
    expect(answer.round).to.equal(1n);
    expect(answer.observedAt).to.equal(observedAt);
    expect(await feed.pendingRequestZone(oracleRequest.requestId)).to.equal(0n);
    // The oracle verified the feed through ERC-1271 on exactly this observation's digest.
    expect(await feed.isValidSignature(answer.digest, "0x")).to.equal("0x1626ba7e");
  });

  it("follows the grid: a later oversupply lowers the price in the next round", async function () {
    const { router, coordinator, priceOracle, zone, requestPrice } = await deploy();
    await serveRequest(coordinator, router, await requestPrice(5_000_000n, 5_000_000n));
    expect((await priceOracle.referencePrice(zone))[0]).to.equal(6_000_000n);

    await serveRequest(coordinator, router, await requestPrice(5_000_000n, 4_990_000n));
    const [price] = await priceOracle.referencePrice(zone);
    expect(price).to.equal(4_500_000n); // −10 kW → 6 − 1.5
    expect((await priceOracle.reportHeader(zone)).round).to.equal(2n);
  });

  it("records a script error as FunctionsRequestFailed without touching the oracle", async function () {
    const { router, coordinator, priceOracle, feed, zone, requestPrice } = await deploy();
    await feed.setSource('throw new Error("grid feed offline")');

    const oracleRequest = await requestPrice(5_000_000n, 5_000_000n);
    const { processed, receipt } = await serveRequest(coordinator, router, oracleRequest);
    expect(processed.args.resultCode).to.equal(FULFILLED); // the callback itself succeeded

    const feedAddress = (await feed.getAddress()).toLowerCase();
    const failed = receipt.logs
      .filter((log: any) => log.address.toLowerCase() === feedAddress)
      .map((log: any) => feed.interface.parseLog(log))
      .find((event: any) => event?.name === "FunctionsRequestFailed");
    expect(failed.args.requestId).to.equal(oracleRequest.requestId);
    expect(ethers.toUtf8String(failed.args.err)).to.equal("grid feed offline");
    expect((await priceOracle.reportHeader(zone)).round).to.equal(0n);
  });

  it("serves a feed deployed by the GridXFunctions Ignition module", async function () {
    const functions = await deployFunctions();
    const [admin, requester] = await ethers.getSigners();
    const deployed = await ignition.deploy(GridXFunctionsModule, {
      parameters: {
        GridXCore: { tradingIntervalSeconds: TRADING_INTERVAL, maxFutureSkewSeconds: 120 },
        GridXOracles: {
          quorum: 1,
          ...Object.fromEntries(
            ["price", "grid", "weather"].map((key) => [`${key}HeartbeatSeconds`, HEARTBEAT]),
          ),
          priceFields: [
            { min: 3_000_000, max: 12_000_000, maxDeviationBps: 2_500 },
            { min: 0, max: 1_000_000_000, maxDeviationBps: 0 },
            { min: 0, max: 1_000_000_000, maxDeviationBps: 0 },
          ],
          gridFields: Array.from({ length: 7 }, () => ({ min: 0, max: 2, maxDeviationBps: 0 })),
          weatherFields: Array.from({ length: 4 }, () => ({ min: 0, max: 6, maxDeviationBps: 0 })),
        },
        GridXFunctions: {
          functionsRouter: functions.router.address,
          subscriptionId: functions.subscriptionId,
          donId: functions.donId,
        },
      },
    });
    const feed = await ethers.getContractAt("FunctionsPriceFeed", await deployed.functionsPriceFeed.getAddress());
    const manager = await ethers.getContractAt("GridXAccessManager", await feed.authority());
    const priceOracle = await ethers.getContractAt("PriceOracle", await feed.priceOracle());
    const grid = await ethers.getContractAt("GridManagement", await priceOracle.gridManagement());
    expect(await feed.source()).to.equal(readFileSync(SOURCE_PATH, "utf8"));
    expect((await feed.requestConfig()).callbackGasLimit).to.equal(BigInt(CALLBACK_GAS_LIMIT));

    await grid.connect(admin).createZone(ZONE_CONFIG(admin.address));
    await wire(manager, feed, requester, functions);
    const oracleRequest = await requestPrice(feed, requester, functions.coordinator, 1n, 5_000_000n, 5_010_000n);
    const { processed } = await serveRequest(functions.coordinator, functions.router, oracleRequest);
    expect(processed.args.resultCode).to.equal(FULFILLED);
    expect((await priceOracle.referencePrice(1n))[0]).to.equal(7_500_000n);
  });
});
