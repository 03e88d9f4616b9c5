// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {FunctionsClient} from "@chainlink/contracts/src/v0.8/functions/v1_0_0/FunctionsClient.sol";
import {FunctionsRequest} from "@chainlink/contracts/src/v0.8/functions/v1_0_0/libraries/FunctionsRequest.sol";
import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {IFunctionsPriceFeed} from "./interfaces/IFunctionsPriceFeed.sol";
import {IGridManagement} from "./interfaces/IGridManagement.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {IQuorumOracle} from "./interfaces/IQuorumOracle.sol";

/// @title FunctionsPriceFeed
/// @notice Chainlink Functions consumer that writes the DON's grid-stability price into PriceOracle as one
/// ERC-1271 oracle reporter (see `IFunctionsPriceFeed`).
/// @dev Every call to PriceOracle is to the immutable oracle this feed was deployed for; the only one that
/// is not a view, `submitReport`, runs after the feed's state is written and is wrapped in try/catch, so a
/// rejected report cannot revert the router's callback.
contract FunctionsPriceFeed is IFunctionsPriceFeed, FunctionsClient, AccessManaged {
    using FunctionsRequest for FunctionsRequest.Request;

    // ─────────────────────────────────────────────────────────────── constants

    /// @dev PriceOracle's hard limits: pricePerKWh ≤ 2**119 - 1 (int120), supplyW and demandW ≤ 2**63 - 1.
    uint256 private constant _MAX_PRICE_PER_KWH = uint256(int256(type(int120).max));
    uint64 private constant _MAX_POWER_W = uint64(type(int64).max);
    /// @dev abi.encode(uint256, uint256, uint256).
    uint256 private constant _RESPONSE_LENGTH = 96;
    uint256 private constant _FIELD_COUNT = 3;

    // ─────────────────────────────────────────────────────────────── storage

    IPriceOracle private immutable _priceOracle;
    RequestConfig private _requestConfig;
    string private _source;
    /// @dev Zone 0 never exists, so 0 marks a request that is unknown or already fulfilled.
    mapping(bytes32 requestId => uint32 zone) private _pendingZones;
    mapping(uint32 zone => Answer) private _answers;
    /// @dev Exactly the digest of each zone's latest answer.
    mapping(bytes32 digest => bool approved) private _approvedDigests;

    // ─────────────────────────────────────────────────────────────── constructor

    /// @param router The Chainlink Functions router of this chain.
    /// @param initialAuthority The GridX AccessManager.
    /// @param priceOracle_ The PriceOracle to report to; the feed must hold ORACLE_OPERATOR there.
    /// @param config Subscription, DON id and callback gas limit of requests.
    /// @param source_ The JavaScript source the DON runs (oracle-bridge/functions/grid-price.js).
    constructor(
        address router,
        address initialAuthority,
        IPriceOracle priceOracle_,
        RequestConfig memory config,
        string memory source_
    ) FunctionsClient(router) AccessManaged(initialAuthority) {
        require(
            router != address(0) && initialAuthority != address(0) && address(priceOracle_) != address(0),
            FunctionsPriceFeedZeroAddress()
        );
        _priceOracle = priceOracle_;
        _setRequestConfig(config);
        _setSource(source_);
    }

    // ─────────────────────────────────────────────────────────────── requests

    /// @inheritdoc IFunctionsPriceFeed
    function requestPrice(uint32 zone, uint64 supplyW, uint64 demandW)
        external
        restricted
        returns (bytes32 requestId)
    {
        require(
            IGridManagement(_priceOracle.gridManagement()).zoneExists(zone), FunctionsPriceFeedUnknownZone(zone)
        );
        require(
            supplyW <= _MAX_POWER_W && demandW <= _MAX_POWER_W,
            FunctionsPriceFeedPowerTooLarge(supplyW, demandW, _MAX_POWER_W)
        );

        string[] memory args = new string[](3);
        args[0] = Strings.toString(zone);
        args[1] = Strings.toString(supplyW);
        args[2] = Strings.toString(demandW);
        FunctionsRequest.Request memory request;
        request.initializeRequestForInlineJavaScript(_source);
        request.setArgs(args);

        RequestConfig memory config = _requestConfig;
        // The router assigns the id, so the request is recorded after the call; the router is the chain's
        // Chainlink contract and calls back only in a later transaction.
        requestId = _sendRequest(request.encodeCBOR(), config.subscriptionId, config.callbackGasLimit, config.donId);
        _pendingZones[requestId] = zone;
        emit PriceRequested(requestId, zone, msg.sender, supplyW, demandW);
    }

    // ─────────────────────────────────────────────────────────────── governance

    /// @inheritdoc IFunctionsPriceFeed
    function setRequestConfig(RequestConfig calldata config) external restricted {
        _setRequestConfig(config);
    }

    /// @inheritdoc IFunctionsPriceFeed
    function setSource(string calldata source_) external restricted {
        _setSource(source_);
    }

    // ─────────────────────────────────────────────────────────────── ERC-1271

    /// @inheritdoc IERC1271
    /// @dev Valid only for the digest of a zone's latest answer, whatever the signature bytes.
    function isValidSignature(bytes32 digest, bytes calldata) external view returns (bytes4) {
        return _approvedDigests[digest] ? IERC1271.isValidSignature.selector : bytes4(0xffffffff);
    }

    // ─────────────────────────────────────────────────────────────── views

    /// @inheritdoc IFunctionsPriceFeed
    function priceOracle() external view returns (address) {
        return address(_priceOracle);
    }

    /// @inheritdoc IFunctionsPriceFeed
    function functionsRouter() external view returns (address) {
        return address(i_router);
    }

    /// @inheritdoc IFunctionsPriceFeed
    function requestConfig() external view returns (RequestConfig memory) {
        return _requestConfig;
    }

    /// @inheritdoc IFunctionsPriceFeed
    function source() external view returns (string memory) {
        return _source;
    }

    /// @inheritdoc IFunctionsPriceFeed
    function pendingRequestZone(bytes32 requestId) external view returns (uint32 zone) {
        return _pendingZones[requestId];
    }

    /// @inheritdoc IFunctionsPriceFeed
    function latestAnswer(uint32 zone) external view returns (Answer memory) {
        return _answers[zone];
    }

    /// @inheritdoc IFunctionsPriceFeed
    function pendingObservation(uint32 zone)
        external
        view
        returns (uint64 round, IQuorumOracle.Observation memory observation)
    {
        Answer memory answer = _answers[zone];
        require(answer.round != 0, FunctionsPriceFeedNoObservation(zone));
        observation = IQuorumOracle.Observation({
            signer: address(this),
            observedAt: answer.observedAt,
            values: _values(answer.pricePerKWh, answer.supplyW, answer.demandW),
            signature: ""
        });
        return (answer.round, observation);
    }

    // ─────────────────────────────────────────────────────────────── fulfillment

    /// @dev Called by FunctionsClient.handleOracleFulfillment once the router is checked. Never reverts.
    function fulfillRequest(bytes32 requestId, bytes memory response, bytes memory err) internal override {
        uint32 zone = _pendingZones[requestId];
        if (zone == 0) {
            emit UnknownRequestIgnored(requestId);
            return;
        }
        delete _pendingZones[requestId];
        if (err.length != 0) {
            emit FunctionsRequestFailed(requestId, zone, err);
            return;
        }
        (bool wellFormed, uint128 pricePerKWh, uint64 supplyW, uint64 demandW) = _decodeResponse(response);
        if (!wellFormed) {
            emit ResponseRejected(requestId, zone, response);
            return;
        }
        _observe(requestId, zone, pricePerKWh, supplyW, demandW);
    }

    // ─────────────────────────────────────────────────────────────── internal

    /// @dev Records the answer as the feed's observation of the zone's next round, moves the zone's ERC-1271
    /// approval to its digest and, with a quorum of 1, submits it as the report.
    function _observe(bytes32 requestId, uint32 zone, uint128 pricePerKWh, uint64 supplyW, uint64 demandW)
        private
    {
        uint64 round = _priceOracle.reportHeader(zone).round + 1;
        uint64 observedAt = uint64(block.timestamp);
        int256[] memory values = _values(pricePerKWh, supplyW, demandW);
        bytes32 digest = _priceOracle.reportDigest(zone, round, observedAt, values);

        delete _approvedDigests[_answers[zone].digest];
        _answers[zone] = Answer(round, observedAt, pricePerKWh, supplyW, demandW, digest);
        _approvedDigests[digest] = true;
        emit PriceObserved(requestId, zone, round, observedAt, pricePerKWh, supplyW, demandW, digest);

        if (_priceOracle.quorum() != 1) return; // a relayer completes the quorum with other operators
        IQuorumOracle.Observation[] memory observations = new IQuorumOracle.Observation[](1);
        observations[0] =
            IQuorumOracle.Observation({signer: address(this), observedAt: observedAt, values: values, signature: ""});
        try _priceOracle.submitReport(zone, round, observations) {
            emit ReportSubmitted(zone, round);
        } catch (bytes memory reason) {
            emit ReportRejected(zone, round, reason);
        }
    }

    /// @dev Three words, each within PriceOracle's hard limits, or not well-formed.
    function _decodeResponse(bytes memory response)
        private
        pure
        returns (bool wellFormed, uint128 pricePerKWh, uint64 supplyW, uint64 demandW)
    {
        if (response.length != _RESPONSE_LENGTH) return (false, 0, 0, 0);
        (uint256 price, uint256 supply, uint256 demand) = abi.decode(response, (uint256, uint256, uint256));
        if (price > _MAX_PRICE_PER_KWH || supply > _MAX_POWER_W || demand > _MAX_POWER_W) return (false, 0, 0, 0);
        // Cannot truncate: bounded just above.
        return (true, uint128(price), uint64(supply), uint64(demand));
    }

    /// @dev A PriceOracle observation's values, in `IPriceOracle.Field` order.
    function _values(uint128 pricePerKWh, uint64 supplyW, uint64 demandW) private pure returns (int256[] memory values) {
        values = new int256[](_FIELD_COUNT);
        values[uint8(IPriceOracle.Field.PricePerKWh)] = int256(uint256(pricePerKWh));
        values[uint8(IPriceOracle.Field.SupplyW)] = int256(uint256(supplyW));
        values[uint8(IPriceOracle.Field.DemandW)] = int256(uint256(demandW));
    }

    function _setRequestConfig(RequestConfig memory config) private {
        require(
            config.subscriptionId != 0 && config.donId != bytes32(0) && config.callbackGasLimit != 0,
            FunctionsPriceFeedInvalidRequestConfig(config.subscriptionId, config.donId, config.callbackGasLimit)
        );
        _requestConfig = config;
        emit RequestConfigUpdated(config.subscriptionId, config.donId, config.callbackGasLimit);
    }

    function _setSource(string memory source_) private {
        require(bytes(source_).length != 0, FunctionsPriceFeedEmptySource());
        _source = source_;
        emit SourceUpdated(keccak256(bytes(source_)), source_);
    }
}
