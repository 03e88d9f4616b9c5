// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {IQuorumOracle} from "./IQuorumOracle.sol";

/// @title IFunctionsPriceFeed
/// @notice A Chainlink Functions consumer that asks the DON to run `oracle-bridge/functions/grid-price.js`
/// for a zone's supply and demand and writes the answer into PriceOracle as one oracle reporter.
/// @dev The feed is an ORACLE_OPERATOR whose signature is ERC-1271. On each fulfillment it records the DON's
/// answer as its observation of the zone for the round after the zone's last accepted one, observed at the
/// fulfillment block, and approves exactly that observation's EIP-712 digest (`PriceOracle.reportDigest`) in
/// `isValidSignature`; the zone's previous approval is revoked at the same time. With a PriceOracle quorum of
/// 1 the feed submits the report itself in the callback (a rejection is emitted, never reverted); with a
/// larger quorum a relayer includes `pendingObservation(zone)` with other operators' signed observations in
/// `PriceOracle.submitReport`. Fulfillment never reverts: unknown requests, DON errors and malformed
/// responses are ignored with an event, so the DON's callback always succeeds.
///
/// DON request: inline JavaScript `source()`, args `[zone, supplyW, demandW]` as decimal strings. Response:
/// `abi.encode(uint256 pricePerKWh, uint256 supplyW, uint256 demandW)`, 96 bytes, each value within
/// PriceOracle's hard limits (price ≤ 2**119 - 1, powers ≤ 2**63 - 1).
interface IFunctionsPriceFeed is IERC1271 {
    // ─────────────────────────────────────────────────────────────── types

    /// @notice How requests are sent and paid: the Functions subscription, the DON and the callback gas.
    /// @dev Packed: subscriptionId and callbackGasLimit share a slot; donId takes the second.
    struct RequestConfig {
        uint64 subscriptionId;
        uint32 callbackGasLimit;
        bytes32 donId;
    }

    /// @notice The DON's latest answer for a zone, recorded as the feed's observation of `round`.
    /// @dev Three slots: {round, observedAt, pricePerKWh}, {supplyW, demandW}, {digest}.
    /// @param round The PriceOracle round the observation is for (last accepted round + 1 at fulfillment).
    /// @param observedAt The fulfillment block's timestamp, unix seconds.
    /// @param pricePerKWh Payment-token base units per kWh.
    /// @param supplyW Zone supply, W.
    /// @param demandW Zone demand, W.
    /// @param digest The PriceOracle EIP-712 digest of the observation, which `isValidSignature` approves.
    struct Answer {
        uint64 round;
        uint64 observedAt;
        uint128 pricePerKWh;
        uint64 supplyW;
        uint64 demandW;
        bytes32 digest;
    }

    // ─────────────────────────────────────────────────────────────── errors

    /// @notice The Functions router, the authority or the PriceOracle address is zero.
    error FunctionsPriceFeedZeroAddress();
    /// @notice A request config with a zero subscription, DON id or callback gas limit.
    error FunctionsPriceFeedInvalidRequestConfig(uint64 subscriptionId, bytes32 donId, uint32 callbackGasLimit);
    /// @notice The Functions source must not be empty.
    error FunctionsPriceFeedEmptySource();
    /// @notice `zone` does not exist in the PriceOracle's GridManagement.
    error FunctionsPriceFeedUnknownZone(uint32 zone);
    /// @notice A power above PriceOracle's hard limit `maxW` (2**63 - 1), which the DON would refuse.
    error FunctionsPriceFeedPowerTooLarge(uint64 supplyW, uint64 demandW, uint64 maxW);
    /// @notice The DON has not answered any request for `zone` yet.
    error FunctionsPriceFeedNoObservation(uint32 zone);

    // ─────────────────────────────────────────────────────────────── events

    /// @notice The subscription, DON and callback gas limit of future requests changed.
    event RequestConfigUpdated(uint64 subscriptionId, bytes32 donId, uint32 callbackGasLimit);
    /// @notice The JavaScript source the DON runs changed; `source` is its full text, so it can be audited.
    event SourceUpdated(bytes32 indexed sourceHash, string source);
    /// @notice A grid price was requested from the DON for `zone`.
    event PriceRequested(
        bytes32 indexed requestId, uint32 indexed zone, address indexed requester, uint64 supplyW, uint64 demandW
    );
    /// @notice The DON answered: the answer is now the feed's observation of `zone` for `round`, and its
    /// `digest` is the one `isValidSignature` approves for the zone.
    event PriceObserved(
        bytes32 indexed requestId,
        uint32 indexed zone,
        uint64 indexed round,
        uint64 observedAt,
        uint128 pricePerKWh,
        uint64 supplyW,
        uint64 demandW,
        bytes32 digest
    );
    /// @notice The feed submitted its observation as a one-observation report (quorum 1) and PriceOracle
    /// accepted it.
    event ReportSubmitted(uint32 indexed zone, uint64 indexed round);
    /// @notice PriceOracle rejected the feed's one-observation report; `reason` is its revert data.
    event ReportRejected(uint32 indexed zone, uint64 indexed round, bytes reason);
    /// @notice The DON reported an error for the request instead of a response (e.g. the script threw).
    event FunctionsRequestFailed(bytes32 indexed requestId, uint32 indexed zone, bytes err);
    /// @notice The DON's response was not three words within PriceOracle's limits; nothing was recorded.
    event ResponseRejected(bytes32 indexed requestId, uint32 indexed zone, bytes response);
    /// @notice A fulfillment for a request this feed does not have pending (unknown or already fulfilled).
    event UnknownRequestIgnored(bytes32 indexed requestId);

    // ─────────────────────────────────────────────────────────────── requests (restricted)

    /// @notice Asks the DON to price `zone` from its supply and demand; the answer arrives in a later
    /// transaction (the router's callback). Restricted: the AccessManager decides who may request.
    /// @dev Reverts with `FunctionsPriceFeedUnknownZone` or `FunctionsPriceFeedPowerTooLarge`, and with the
    /// router's errors (unfunded subscription, consumer not added, callback gas above the subscription's tier).
    /// @return requestId The Functions request id.
    function requestPrice(uint32 zone, uint64 supplyW, uint64 demandW) external returns (bytes32 requestId);

    // ─────────────────────────────────────────────────────────────── governance (restricted: ADMIN by default)

    /// @notice Sets the subscription, DON and callback gas limit of future requests (all non-zero).
    function setRequestConfig(RequestConfig calldata config) external;

    /// @notice Sets the JavaScript source the DON runs for future requests (non-empty).
    function setSource(string calldata source) external;

    // ─────────────────────────────────────────────────────────────── views

    /// @notice The PriceOracle the feed reports to.
    function priceOracle() external view returns (address);

    /// @notice The Chainlink Functions router that sends requests and calls back.
    function functionsRouter() external view returns (address);

    /// @notice The subscription, DON and callback gas limit of requests.
    function requestConfig() external view returns (RequestConfig memory);

    /// @notice The JavaScript source the DON runs.
    function source() external view returns (string memory);

    /// @notice The zone of a pending request; 0 when `requestId` is unknown or already fulfilled.
    function pendingRequestZone(bytes32 requestId) external view returns (uint32 zone);

    /// @notice The DON's latest answer for `zone` (all zero before the first).
    function latestAnswer(uint32 zone) external view returns (Answer memory);

    /// @notice The feed's observation of `zone` as `PriceOracle.submitReport` takes it: signer this feed,
    /// the answer's values in field order, an empty signature (ERC-1271 vouches for the digest). Relay it
    /// with `round` while `round` is above the zone's last accepted round and the observation is within the
    /// oracle's heartbeat. Reverts with `FunctionsPriceFeedNoObservation` before the first answer.
    function pendingObservation(uint32 zone)
        external
        view
        returns (uint64 round, IQuorumOracle.Observation memory observation);
}
