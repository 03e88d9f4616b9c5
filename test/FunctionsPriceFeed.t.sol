// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Vm} from "forge-std/Vm.sol";
import {FunctionsClient} from "@chainlink/contracts/src/v0.8/functions/v1_0_0/FunctionsClient.sol";
import {FunctionsRequest} from "@chainlink/contracts/src/v0.8/functions/v1_0_0/libraries/FunctionsRequest.sol";
import {IAccessManaged} from "@openzeppelin/contracts/access/manager/IAccessManaged.sol";
import {FunctionsPriceFeed} from "../contracts/FunctionsPriceFeed.sol";
import {GridManagement} from "../contracts/GridManagement.sol";
import {GridXAccessManager} from "../contracts/GridXAccessManager.sol";
import {PriceOracle} from "../contracts/PriceOracle.sol";
import {IFunctionsPriceFeed} from "../contracts/interfaces/IFunctionsPriceFeed.sol";
import {IGridManagement} from "../contracts/interfaces/IGridManagement.sol";
import {IPriceOracle} from "../contracts/interfaces/IPriceOracle.sol";
import {IQuorumOracle} from "../contracts/interfaces/IQuorumOracle.sol";
import {Roles} from "../contracts/libraries/Roles.sol";
import {MockFunctionsRouter} from "../contracts/mocks/MockFunctionsRouter.sol";
import {SlimTest} from "./utils/SlimTest.sol";

/// @dev FunctionsPriceFeed against a real AccessManager, GridManagement and PriceOracle, with the test acting as
/// the DON through MockFunctionsRouter. EIP-712 digests are computed here from the spec, never from the
/// oracle's own helper, so a feed that approved the wrong digest fails.
contract FunctionsPriceFeedTest is SlimTest {
    using FunctionsRequest for FunctionsRequest.Request;

    bytes32 internal constant EIP712_DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant PRICE_REPORT_TYPEHASH = keccak256(
        "PriceReport(uint32 zone,uint64 round,uint64 observedAt,uint128 pricePerKWh,uint64 supplyW,uint64 demandW)"
    );
    bytes4 internal constant ERC1271_MAGIC = 0x1626ba7e;
    bytes4 internal constant ERC1271_INVALID = 0xffffffff;
    uint32 internal constant HEARTBEAT = 1 hours;
    uint32 internal constant TRADING_INTERVAL = 900;
    uint64 internal constant SUBSCRIPTION_ID = 7;
    bytes32 internal constant DON_ID = "fun-gridx-test-1";
    /// @dev The smallest tier of the production router's `maxCallbackGasLimits`.
    uint32 internal constant CALLBACK_GAS_LIMIT = 300_000;
    string internal constant SOURCE = "return Functions.encodeUint256(6000000)";
    int256 internal constant MAX_PRICE = 1e12;
    int256 internal constant MAX_POWER_W = 1e12;
    uint64 internal constant INT64_MAX = uint64(type(int64).max);
    uint256 internal constant INT120_MAX = uint256(int256(type(int120).max));

    GridXAccessManager internal manager;
    GridManagement internal grid;
    PriceOracle internal oracle;
    MockFunctionsRouter internal router;
    FunctionsPriceFeed internal feed;
    uint32 internal zone;
    uint32 internal otherZone;

    address internal requester = makeAddr("requester");
    address internal relay = makeAddr("relay");
    address internal stranger = makeAddr("stranger");
    address internal operator;
    uint256 internal operatorKey;

    function setUp() public {
        vm.warp(1_750_000_000);
        manager = new GridXAccessManager(address(this));
        grid = new GridManagement(address(manager), TRADING_INTERVAL);
        zone = grid.createZone(_zoneConfig("Riverside"));
        otherZone = grid.createZone(_zoneConfig("Hillside"));

        IQuorumOracle.FieldConfig[] memory configs = new IQuorumOracle.FieldConfig[](3);
        configs[0] = IQuorumOracle.FieldConfig({min: 1, max: MAX_PRICE, maxDeviationBps: 5_000});
        configs[1] = IQuorumOracle.FieldConfig({min: 0, max: MAX_POWER_W, maxDeviationBps: 0});
        configs[2] = IQuorumOracle.FieldConfig({min: 0, max: MAX_POWER_W, maxDeviationBps: 0});
        oracle = new PriceOracle(address(manager), grid, 1, HEARTBEAT, configs);

        router = new MockFunctionsRouter();
        feed = new FunctionsPriceFeed(address(router), address(manager), oracle, _config(), SOURCE);

        bytes4[] memory selectors = new bytes4[](1);
        selectors[0] = feed.requestPrice.selector;
        manager.setTargetFunctionRole(address(feed), selectors, Roles.ORACLE_OPERATOR);
        manager.grantRole(Roles.ORACLE_OPERATOR, requester, 0);
        manager.grantRole(Roles.ORACLE_OPERATOR, address(feed), 0);
        (operator, operatorKey) = makeAddrAndKey("operator");
        manager.grantRole(Roles.ORACLE_OPERATOR, operator, 0);
    }

    // ─────────────────────────────────────────────────────────────── constructor

    function test_constructor_configures() public view {
        assertEq(feed.priceOracle(), address(oracle));
        assertEq(feed.functionsRouter(), address(router));
        assertEq(feed.authority(), address(manager));
        IFunctionsPriceFeed.RequestConfig memory config = feed.requestConfig();
        assertEq(config.subscriptionId, SUBSCRIPTION_ID);
        assertEq(config.donId, DON_ID);
        assertEq(config.callbackGasLimit, CALLBACK_GAS_LIMIT);
        assertEq(feed.source(), SOURCE);
    }

    function test_constructor_emitsConfigAndSource() public {
        vm.expectEmit();
        emit IFunctionsPriceFeed.RequestConfigUpdated(SUBSCRIPTION_ID, DON_ID, CALLBACK_GAS_LIMIT);
        vm.expectEmit();
        emit IFunctionsPriceFeed.SourceUpdated(keccak256(bytes(SOURCE)), SOURCE);
        new FunctionsPriceFeed(address(router), address(manager), oracle, _config(), SOURCE);
    }

    function test_constructor_revertsOnZeroAddress() public {
        bytes memory reason = abi.encodeWithSelector(IFunctionsPriceFeed.FunctionsPriceFeedZeroAddress.selector);
        vm.expectRevert(reason);
        new FunctionsPriceFeed(address(0), address(manager), oracle, _config(), SOURCE);
        vm.expectRevert(reason);
        new FunctionsPriceFeed(address(router), address(0), oracle, _config(), SOURCE);
        vm.expectRevert(reason);
        new FunctionsPriceFeed(address(router), address(manager), IPriceOracle(address(0)), _config(), SOURCE);
    }

    function test_constructor_revertsOnInvalidRequestConfig() public {
        IFunctionsPriceFeed.RequestConfig memory config = _config();
        config.donId = bytes32(0);
        vm.expectRevert(_invalidConfig(config));
        new FunctionsPriceFeed(address(router), address(manager), oracle, config, SOURCE);
    }

    function test_constructor_revertsOnEmptySource() public {
        vm.expectRevert(abi.encodeWithSelector(IFunctionsPriceFeed.FunctionsPriceFeedEmptySource.selector));
        new FunctionsPriceFeed(address(router), address(manager), oracle, _config(), "");
    }

    // ─────────────────────────────────────────────────────────────── requestPrice

    function test_requestPrice_sendsInlineJavaScriptWithArgs() public {
        vm.expectEmit(false, true, true, true, address(feed));
        emit IFunctionsPriceFeed.PriceRequested(bytes32(0), zone, requester, 5_000_000, 5_010_000);
        bytes32 requestId = _request(zone, 5_000_000, 5_010_000);

        MockFunctionsRouter.Request memory sent = router.request(requestId);
        assertEq(sent.client, address(feed));
        assertEq(sent.subscriptionId, SUBSCRIPTION_ID);
        assertEq(sent.donId, DON_ID);
        assertEq(sent.callbackGasLimit, CALLBACK_GAS_LIMIT);
        assertEq(sent.dataVersion, FunctionsRequest.REQUEST_DATA_VERSION);
        assertEq(sent.data, _expectedRequest(SOURCE, "1", "5000000", "5010000"));
        assertEq(feed.pendingRequestZone(requestId), zone);
    }

    function test_requestPrice_encodesLargestZoneAndPowers() public {
        bytes32 requestId = _request(otherZone, 0, INT64_MAX);
        assertEq(router.request(requestId).data, _expectedRequest(SOURCE, "2", "0", "9223372036854775807"));
        assertEq(feed.pendingRequestZone(requestId), otherZone);
    }

    function test_requestPrice_revertsWhenUnauthorized() public {
        vm.expectRevert(_unauthorized(stranger));
        vm.prank(stranger);
        feed.requestPrice(zone, 1, 1);
    }

    function test_requestPrice_revertsOnUnknownZone() public {
        vm.expectRevert(abi.encodeWithSelector(IFunctionsPriceFeed.FunctionsPriceFeedUnknownZone.selector, 0));
        vm.prank(requester);
        feed.requestPrice(0, 1, 1);
        vm.expectRevert(abi.encodeWithSelector(IFunctionsPriceFeed.FunctionsPriceFeedUnknownZone.selector, 3));
        vm.prank(requester);
        feed.requestPrice(3, 1, 1);
    }

    function test_requestPrice_revertsOnPowerTooLarge() public {
        bytes4 selector = IFunctionsPriceFeed.FunctionsPriceFeedPowerTooLarge.selector;
        vm.expectRevert(abi.encodeWithSelector(selector, INT64_MAX + 1, 0, INT64_MAX));
        vm.prank(requester);
        feed.requestPrice(zone, INT64_MAX + 1, 0);
        vm.expectRevert(abi.encodeWithSelector(selector, 0, type(uint64).max, INT64_MAX));
        vm.prank(requester);
        feed.requestPrice(zone, 0, type(uint64).max);
    }

    function test_requestPrice_usesUpdatedConfigAndSource() public {
        IFunctionsPriceFeed.RequestConfig memory config =
            IFunctionsPriceFeed.RequestConfig({subscriptionId: 9, callbackGasLimit: 250_000, donId: "other-don"});
        feed.setRequestConfig(config);
        feed.setSource("return new Uint8Array(96)");
        bytes32 requestId = _request(zone, 1, 2);
        MockFunctionsRouter.Request memory sent = router.request(requestId);
        assertEq(sent.subscriptionId, 9);
        assertEq(sent.callbackGasLimit, 250_000);
        assertEq(sent.donId, "other-don");
        assertEq(sent.data, _expectedRequest("return new Uint8Array(96)", "1", "1", "2"));
    }

    // ─────────────────────────────────────────────────────────────── governance

    function test_setRequestConfig_updatesAndEmits() public {
        IFunctionsPriceFeed.RequestConfig memory config =
            IFunctionsPriceFeed.RequestConfig({subscriptionId: 42, callbackGasLimit: 500_000, donId: "don-2"});
        vm.expectEmit(address(feed));
        emit IFunctionsPriceFeed.RequestConfigUpdated(42, "don-2", 500_000);
        feed.setRequestConfig(config);
        IFunctionsPriceFeed.RequestConfig memory stored = feed.requestConfig();
        assertEq(stored.subscriptionId, 42);
        assertEq(stored.callbackGasLimit, 500_000);
        assertEq(stored.donId, "don-2");
    }

    function test_setRequestConfig_revertsWhenUnauthorized() public {
        // Requesting prices does not entitle an operator to redirect billing or the DON.
        vm.expectRevert(_unauthorized(requester));
        vm.prank(requester);
        feed.setRequestConfig(_config());
    }

    function test_setRequestConfig_revertsOnZeroField() public {
        IFunctionsPriceFeed.RequestConfig memory config = _config();
        config.subscriptionId = 0;
        vm.expectRevert(_invalidConfig(config));
        feed.setRequestConfig(config);

        config = _config();
        config.donId = bytes32(0);
        vm.expectRevert(_invalidConfig(config));
        feed.setRequestConfig(config);

        config = _config();
        config.callbackGasLimit = 0;
        vm.expectRevert(_invalidConfig(config));
        feed.setRequestConfig(config);
    }

    function test_setSource_updatesAndEmits() public {
        string memory source = "return Functions.encodeUint256(7)";
        vm.expectEmit(address(feed));
        emit IFunctionsPriceFeed.SourceUpdated(keccak256(bytes(source)), source);
        feed.setSource(source);
        assertEq(feed.source(), source);
    }

    function test_setSource_revertsWhenUnauthorized() public {
        vm.expectRevert(_unauthorized(requester));
        vm.prank(requester);
        feed.setSource("return 1");
    }

    function test_setSource_revertsOnEmpty() public {
        vm.expectRevert(abi.encodeWithSelector(IFunctionsPriceFeed.FunctionsPriceFeedEmptySource.selector));
        feed.setSource("");
    }

    // ─────────────────────────────────────────────────────────────── fulfillment: router and request checks

    function test_handleOracleFulfillment_revertsUnlessRouter() public {
        bytes32 requestId = _request(zone, 1, 1);
        vm.expectRevert(abi.encodeWithSelector(FunctionsClient.OnlyRouterCanFulfill.selector));
        vm.prank(stranger);
        feed.handleOracleFulfillment(requestId, _response(6_000_000, 1, 1), "");
    }

    function test_fulfill_ignoresUnknownRequest() public {
        bytes32 requestId = keccak256("never sent");
        vm.expectEmit(address(feed));
        emit IFunctionsPriceFeed.UnknownRequestIgnored(requestId);
        (bool success,) = router.fulfillAs(address(feed), CALLBACK_GAS_LIMIT, requestId, _response(6e6, 1, 1), "");
        assertTrue(success);
        assertEq(feed.latestAnswer(zone).round, 0);
        assertEq(oracle.reportHeader(zone).round, 0);
    }

    function test_fulfill_ignoresSecondFulfillmentOfSameRequest() public {
        bytes32 requestId = _request(zone, 5_000_000, 5_000_000);
        _fulfill(requestId, _response(6_000_000, 5_000_000, 5_000_000), "");
        assertEq(feed.pendingRequestZone(requestId), 0);

        skip(10);
        vm.expectEmit(address(feed));
        emit IFunctionsPriceFeed.UnknownRequestIgnored(requestId);
        _fulfill(requestId, _response(7_000_000, 5_000_000, 5_000_000), "");
        (uint128 price,,) = oracle.referencePrice(zone);
        assertEq(price, 6_000_000);
        assertEq(oracle.reportHeader(zone).round, 1);
    }

    function test_fulfill_donErrorEmitsFunctionsRequestFailed() public {
        bytes32 requestId = _request(zone, 1, 1);
        bytes memory err = bytes("grid-price: supplyW \"x\" is not a non-negative integer");
        vm.expectEmit(address(feed));
        emit IFunctionsPriceFeed.FunctionsRequestFailed(requestId, zone, err);
        _fulfill(requestId, "", err);
        assertEq(feed.pendingRequestZone(requestId), 0);
        assertEq(feed.latestAnswer(zone).round, 0);
        assertEq(oracle.reportHeader(zone).round, 0);
    }

    function test_fulfill_rejectsResponseOfWrongLength() public {
        uint256[6] memory lengths = [uint256(0), 32, 64, 95, 97, 128];
        for (uint256 i; i < lengths.length; ++i) {
            bytes32 requestId = _request(zone, 1, 1);
            bytes memory response = new bytes(lengths[i]);
            vm.expectEmit(address(feed));
            emit IFunctionsPriceFeed.ResponseRejected(requestId, zone, response);
            _fulfill(requestId, response, "");
            assertEq(feed.pendingRequestZone(requestId), 0);
        }
        assertEq(feed.latestAnswer(zone).round, 0);
        assertEq(oracle.reportHeader(zone).round, 0);
    }

    function test_fulfill_rejectsValuesBeyondPriceOracleLimits() public {
        bytes[3] memory responses = [
            _response(INT120_MAX + 1, 1, 1),
            _response(6_000_000, uint256(INT64_MAX) + 1, 1),
            _response(6_000_000, 1, uint256(INT64_MAX) + 1)
        ];
        for (uint256 i; i < responses.length; ++i) {
            bytes32 requestId = _request(zone, 1, 1);
            vm.expectEmit(address(feed));
            emit IFunctionsPriceFeed.ResponseRejected(requestId, zone, responses[i]);
            _fulfill(requestId, responses[i], "");
        }
        assertEq(feed.latestAnswer(zone).round, 0);
    }

    function test_fulfill_recordsValuesAtPriceOracleLimits() public {
        oracle.setQuorum(2); // recorded only: the limits are beyond this oracle's configured bounds
        bytes32 requestId = _request(zone, 1, 1);
        _fulfill(requestId, _response(INT120_MAX, INT64_MAX, INT64_MAX), "");
        IFunctionsPriceFeed.Answer memory answer = feed.latestAnswer(zone);
        assertEq(answer.pricePerKWh, INT120_MAX);
        assertEq(answer.supplyW, INT64_MAX);
        assertEq(answer.demandW, INT64_MAX);
    }

    // ─────────────────────────────────────────────────────────────── fulfillment: quorum 1

    function test_fulfill_quorumOneWritesReportIntoPriceOracle() public {
        bytes32 requestId = _request(zone, 5_000_000, 5_010_000);
        int256[] memory values = _values(7_500_000, 5_000_000, 5_010_000);
        uint64 now_ = uint64(block.timestamp);
        bytes32 digest = _digest(zone, 1, now_, values);

        vm.expectEmit(address(feed));
        emit IFunctionsPriceFeed.PriceObserved(requestId, zone, 1, now_, 7_500_000, 5_000_000, 5_010_000, digest);
        address[] memory signers = new address[](1);
        signers[0] = address(feed);
        vm.expectEmit(address(oracle));
        emit IQuorumOracle.ReportAccepted(zone, 1, now_, values, signers);
        vm.expectEmit(address(feed));
        emit IFunctionsPriceFeed.ReportSubmitted(zone, 1);
        vm.expectEmit(address(feed));
        emit FunctionsClient.RequestFulfilled(requestId);
        _fulfill(requestId, _response(7_500_000, 5_000_000, 5_010_000), "");

        (uint128 price, uint64 observedAt, bool fresh) = oracle.referencePrice(zone);
        assertEq(price, 7_500_000);
        assertEq(observedAt, now_);
        assertTrue(fresh);
        (int256 supplyW,,) = oracle.latestValue(zone, uint8(IPriceOracle.Field.SupplyW));
        (int256 demandW,,) = oracle.latestValue(zone, uint8(IPriceOracle.Field.DemandW));
        assertEq(supplyW, 5_000_000);
        assertEq(demandW, 5_010_000);
        assertEq(oracle.reportHeader(zone).round, 1);

        IFunctionsPriceFeed.Answer memory answer = feed.latestAnswer(zone);
        assertEq(answer.round, 1);
        assertEq(answer.observedAt, now_);
        assertEq(answer.pricePerKWh, 7_500_000);
        assertEq(answer.supplyW, 5_000_000);
        assertEq(answer.demandW, 5_010_000);
        assertEq(answer.digest, digest);
        assertEq(feed.pendingRequestZone(requestId), 0);
    }

    function test_fulfill_quorumOneSuccessiveAnswersAdvanceRounds() public {
        _fulfill(_request(zone, 5_000_000, 5_000_000), _response(6_000_000, 5_000_000, 5_000_000), "");
        skip(30);
        _fulfill(_request(zone, 5_000_000, 4_990_000), _response(4_500_000, 5_000_000, 4_990_000), "");
        (uint128 price, uint64 observedAt,) = oracle.referencePrice(zone);
        assertEq(price, 4_500_000);
        assertEq(observedAt, block.timestamp);
        assertEq(oracle.reportHeader(zone).round, 2);
        assertEq(feed.latestAnswer(zone).round, 2);
        // Zones are independent.
        _fulfill(_request(otherZone, 0, 40_000), _response(12_000_000, 0, 40_000), "");
        assertEq(oracle.reportHeader(otherZone).round, 1);
        (price,,) = oracle.referencePrice(otherZone);
        assertEq(price, 12_000_000);
    }

    function test_fulfill_quorumOneRejectedReportIsEmittedNotReverted() public {
        bytes32 requestId = _request(zone, 1, 1);
        bytes memory reason = abi.encodeWithSelector(
            IQuorumOracle.QuorumOracleOutOfBounds.selector, zone, uint8(IPriceOracle.Field.PricePerKWh), 0, 1, MAX_PRICE
        );
        vm.expectEmit(address(feed));
        emit IFunctionsPriceFeed.ReportRejected(zone, 1, reason);
        _fulfill(requestId, _response(0, 1, 1), ""); // a zero price is below the oracle's minimum
        assertEq(oracle.reportHeader(zone).round, 0);
        // The answer is still the feed's observation: a relayer may use it once the bounds allow.
        assertEq(feed.latestAnswer(zone).round, 1);
    }

    function test_fulfill_quorumOneRejectedWhenFeedIsNotOperator() public {
        manager.revokeRole(Roles.ORACLE_OPERATOR, address(feed));
        bytes32 requestId = _request(zone, 1, 1);
        vm.expectEmit(address(feed));
        emit IFunctionsPriceFeed.ReportRejected(
            zone, 1, abi.encodeWithSelector(IQuorumOracle.QuorumOracleNotOperator.selector, address(feed))
        );
        _fulfill(requestId, _response(6_000_000, 1, 1), "");
        assertEq(oracle.reportHeader(zone).round, 0);
    }

    function test_fulfill_quorumOneRejectedWhenSecondAnswerInSameBlock() public {
        bytes32 first = _request(zone, 1, 1);
        bytes32 second = _request(zone, 1, 1);
        _fulfill(first, _response(6_000_000, 1, 1), "");
        uint64 now_ = uint64(block.timestamp);
        vm.expectEmit(address(feed));
        emit IFunctionsPriceFeed.ReportRejected(
            zone, 2, abi.encodeWithSelector(IQuorumOracle.QuorumOracleOutdatedReport.selector, zone, now_, now_)
        );
        _fulfill(second, _response(6_100_000, 1, 1), "");
        assertEq(oracle.reportHeader(zone).round, 1);
    }

    function test_fulfill_firstReportFitsSmallestCallbackGasTier() public {
        // The most expensive callback: every slot of the answer, the approval and the oracle's report is new.
        bytes32 requestId = _request(zone, 5_000_000, 5_010_000);
        (bool success, uint256 gasUsed) = router.fulfill(requestId, _response(7_500_000, 5_000_000, 5_010_000), "");
        assertTrue(success);
        assertLt(gasUsed, CALLBACK_GAS_LIMIT);
        assertEq(oracle.reportHeader(zone).round, 1);
    }

    // ─────────────────────────────────────────────────────────────── fulfillment: quorum 2, relayed

    function test_fulfill_quorumTwoRelayedWithSignedOperatorObservation() public {
        oracle.setQuorum(2);
        bytes32 requestId = _request(zone, 5_000_000, 5_010_000);
        vm.recordLogs();
        _fulfill(requestId, _response(7_500_000, 5_000_000, 5_010_000), "");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertTrue(_emitted(logs, IFunctionsPriceFeed.PriceObserved.selector));
        assertFalse(_emitted(logs, IFunctionsPriceFeed.ReportSubmitted.selector));
        assertFalse(_emitted(logs, IFunctionsPriceFeed.ReportRejected.selector));
        assertEq(oracle.reportHeader(zone).round, 0);

        skip(20); // the relayer gathers the other operator's observation
        (uint64 round, IQuorumOracle.Observation memory fromFeed) = feed.pendingObservation(zone);
        assertEq(round, 1);
        assertEq(fromFeed.signer, address(feed));
        assertEq(fromFeed.observedAt, block.timestamp - 20);
        assertEq(fromFeed.values, _values(7_500_000, 5_000_000, 5_010_000));
        assertEq(fromFeed.signature.length, 0);

        IQuorumOracle.Observation memory fromOperator = _signedObservation(round, _values(7_600_000, 5_000_000, 5_012_000));
        IQuorumOracle.Observation[] memory observations = _ascending(fromFeed, fromOperator);
        vm.prank(relay);
        oracle.submitReport(zone, round, observations);

        // Upper median of two: the larger value of each field; the report time is the later observation.
        (uint128 price, uint64 observedAt,) = oracle.referencePrice(zone);
        assertEq(price, 7_600_000);
        assertEq(observedAt, block.timestamp);
        (int256 demandW,,) = oracle.latestValue(zone, uint8(IPriceOracle.Field.DemandW));
        assertEq(demandW, 5_012_000);
        assertEq(oracle.reportHeader(zone).round, 1);
    }

    function test_fulfill_quorumTwoTamperedFeedObservationFails() public {
        oracle.setQuorum(2);
        _fulfill(_request(zone, 1, 1), _response(7_500_000, 1, 1), "");
        (uint64 round, IQuorumOracle.Observation memory fromFeed) = feed.pendingObservation(zone);
        fromFeed.values[0] = 9_000_000; // the relayer cannot put other values in the feed's mouth
        IQuorumOracle.Observation[] memory observations =
            _ascending(fromFeed, _signedObservation(round, _values(7_500_000, 1, 1)));
        vm.expectRevert(abi.encodeWithSelector(IQuorumOracle.QuorumOracleInvalidSignature.selector, address(feed)));
        vm.prank(relay);
        oracle.submitReport(zone, round, observations);
    }

    function test_fulfill_quorumTwoSupersededObservationFails() public {
        oracle.setQuorum(2);
        _fulfill(_request(zone, 1, 1), _response(7_500_000, 1, 1), "");
        (uint64 round, IQuorumOracle.Observation memory stale) = feed.pendingObservation(zone);
        skip(10);
        _fulfill(_request(zone, 1, 1), _response(7_400_000, 1, 1), "");

        IQuorumOracle.Observation[] memory observations =
            _ascending(stale, _signedObservation(round, _values(7_500_000, 1, 1)));
        vm.expectRevert(abi.encodeWithSelector(IQuorumOracle.QuorumOracleInvalidSignature.selector, address(feed)));
        vm.prank(relay);
        oracle.submitReport(zone, round, observations);

        (uint64 newRound, IQuorumOracle.Observation memory fresh) = feed.pendingObservation(zone);
        assertEq(newRound, round);
        observations = _ascending(fresh, _signedObservation(newRound, _values(7_400_000, 1, 1)));
        vm.prank(relay);
        oracle.submitReport(zone, newRound, observations);
        (uint128 price,,) = oracle.referencePrice(zone);
        assertEq(price, 7_400_000);
    }

    function test_pendingObservation_revertsBeforeFirstAnswer() public {
        vm.expectRevert(abi.encodeWithSelector(IFunctionsPriceFeed.FunctionsPriceFeedNoObservation.selector, zone));
        feed.pendingObservation(zone);
        // A DON error records nothing either.
        _fulfill(_request(zone, 1, 1), "", "boom");
        vm.expectRevert(abi.encodeWithSelector(IFunctionsPriceFeed.FunctionsPriceFeedNoObservation.selector, zone));
        feed.pendingObservation(zone);
    }

    // ─────────────────────────────────────────────────────────────── ERC-1271

    function test_isValidSignature_onlyForTheLatestAnswerOfEachZone() public {
        oracle.setQuorum(2);
        uint64 t0 = uint64(block.timestamp);
        bytes32 first = _digest(zone, 1, t0, _values(7_500_000, 1, 2));
        assertEq(feed.isValidSignature(first, ""), ERC1271_INVALID);

        _fulfill(_request(zone, 1, 2), _response(7_500_000, 1, 2), "");
        assertEq(first, oracle.reportDigest(zone, 1, t0, _values(7_500_000, 1, 2)));
        assertEq(feed.isValidSignature(first, ""), ERC1271_MAGIC);
        assertEq(feed.isValidSignature(first, hex"deadbeef"), ERC1271_MAGIC); // signature bytes are irrelevant
        // Any other digest: other values, round, time, zone, or a digest of another domain.
        assertEq(feed.isValidSignature(_digest(zone, 1, t0, _values(7_500_001, 1, 2)), ""), ERC1271_INVALID);
        assertEq(feed.isValidSignature(_digest(zone, 2, t0, _values(7_500_000, 1, 2)), ""), ERC1271_INVALID);
        assertEq(feed.isValidSignature(_digest(zone, 1, t0 + 1, _values(7_500_000, 1, 2)), ""), ERC1271_INVALID);
        assertEq(feed.isValidSignature(_digest(otherZone, 1, t0, _values(7_500_000, 1, 2)), ""), ERC1271_INVALID);
        assertEq(feed.isValidSignature(keccak256("anything"), ""), ERC1271_INVALID);

        // Each zone holds one approval at a time.
        _fulfill(_request(otherZone, 3, 4), _response(6_000_000, 3, 4), "");
        bytes32 other = _digest(otherZone, 1, t0, _values(6_000_000, 3, 4));
        assertEq(feed.isValidSignature(first, ""), ERC1271_MAGIC);
        assertEq(feed.isValidSignature(other, ""), ERC1271_MAGIC);

        skip(5);
        _fulfill(_request(zone, 1, 2), _response(7_600_000, 1, 2), "");
        bytes32 second = _digest(zone, 1, t0 + 5, _values(7_600_000, 1, 2));
        assertEq(feed.isValidSignature(first, ""), ERC1271_INVALID);
        assertEq(feed.isValidSignature(second, ""), ERC1271_MAGIC);
        assertEq(feed.isValidSignature(other, ""), ERC1271_MAGIC);
    }

    function test_isValidSignature_followsTheOracleRound() public {
        // Quorum 1: after the feed's own report the next answer is for round 2.
        _fulfill(_request(zone, 1, 1), _response(6_000_000, 1, 1), "");
        skip(1);
        _fulfill(_request(zone, 1, 1), _response(6_000_000, 1, 1), "");
        uint64 t = uint64(block.timestamp);
        assertEq(feed.isValidSignature(_digest(zone, 2, t, _values(6_000_000, 1, 1)), ""), ERC1271_MAGIC);
        assertEq(feed.latestAnswer(zone).round, 2);
    }

    // ─────────────────────────────────────────────────────────────── fuzz

    function testFuzz_fulfill_quorumOneWritesAnyAnswerWithinBounds(uint256 price, uint256 supplyW, uint256 demandW)
        public
    {
        price = bound(price, 1, uint256(MAX_PRICE));
        supplyW = bound(supplyW, 0, uint256(MAX_POWER_W));
        demandW = bound(demandW, 0, uint256(MAX_POWER_W));
        bytes32 requestId = _request(zone, uint64(supplyW), uint64(demandW));
        (bool success, uint256 gasUsed) = router.fulfill(requestId, _response(price, supplyW, demandW), "");
        assertTrue(success);
        assertLt(gasUsed, CALLBACK_GAS_LIMIT);
        (uint128 stored,,) = oracle.referencePrice(zone);
        assertEq(stored, price);
        (int256 demand,,) = oracle.latestValue(zone, uint8(IPriceOracle.Field.DemandW));
        assertEq(uint256(demand), demandW);
    }

    function testFuzz_fulfill_neverRevertsTheCallback(bytes calldata response, bytes calldata err) public {
        bytes32 requestId = _request(zone, 1, 1);
        (bool success,) = router.fulfill(requestId, response, err);
        assertTrue(success);
        assertEq(feed.pendingRequestZone(requestId), 0);
    }

    // ─────────────────────────────────────────────────────────────── helpers

    function _config() internal pure returns (IFunctionsPriceFeed.RequestConfig memory) {
        return IFunctionsPriceFeed.RequestConfig({
            subscriptionId: SUBSCRIPTION_ID,
            callbackGasLimit: CALLBACK_GAS_LIMIT,
            donId: DON_ID
        });
    }

    function _invalidConfig(IFunctionsPriceFeed.RequestConfig memory config) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(
            IFunctionsPriceFeed.FunctionsPriceFeedInvalidRequestConfig.selector,
            config.subscriptionId,
            config.donId,
            config.callbackGasLimit
        );
    }

    function _request(uint32 zone_, uint64 supplyW, uint64 demandW) internal returns (bytes32) {
        vm.prank(requester);
        return feed.requestPrice(zone_, supplyW, demandW);
    }

    /// @dev The DON answers through the router; the callback must never fail.
    function _fulfill(bytes32 requestId, bytes memory response, bytes memory err) internal {
        (bool success,) = router.fulfill(requestId, response, err);
        assertTrue(success, "callback reverted");
    }

    function _response(uint256 price, uint256 supplyW, uint256 demandW) internal pure returns (bytes memory) {
        return abi.encode(price, supplyW, demandW);
    }

    function _values(int256 price, int256 supplyW, int256 demandW) internal pure returns (int256[] memory values) {
        values = new int256[](3);
        (values[0], values[1], values[2]) = (price, supplyW, demandW);
    }

    function _expectedRequest(string memory source, string memory zoneArg, string memory supply, string memory demand)
        internal
        pure
        returns (bytes memory)
    {
        string[] memory args = new string[](3);
        (args[0], args[1], args[2]) = (zoneArg, supply, demand);
        FunctionsRequest.Request memory request;
        request.initializeRequestForInlineJavaScript(source);
        request.setArgs(args);
        return request.encodeCBOR();
    }

    /// @dev The PriceOracle EIP-712 digest, from the spec.
    function _digest(uint32 zone_, uint64 round, uint64 observedAt, int256[] memory values)
        internal
        view
        returns (bytes32)
    {
        bytes32 domainSeparator = keccak256(
            abi.encode(
                EIP712_DOMAIN_TYPEHASH, keccak256("GridX PriceOracle"), keccak256("1"), block.chainid, address(oracle)
            )
        );
        bytes32 structHash = keccak256(
            abi.encode(
                PRICE_REPORT_TYPEHASH,
                zone_,
                round,
                observedAt,
                uint128(uint256(values[0])),
                uint64(uint256(values[1])),
                uint64(uint256(values[2]))
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash));
    }

    /// @dev The EOA operator observes `values` now and signs them.
    function _signedObservation(uint64 round, int256[] memory values)
        internal
        view
        returns (IQuorumOracle.Observation memory)
    {
        uint64 observedAt = uint64(block.timestamp);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(operatorKey, _digest(zone, round, observedAt, values));
        return IQuorumOracle.Observation({
            signer: operator,
            observedAt: observedAt,
            values: values,
            signature: abi.encodePacked(r, s, v)
        });
    }

    /// @dev `submitReport` wants observations by strictly ascending signer.
    function _ascending(IQuorumOracle.Observation memory a, IQuorumOracle.Observation memory b)
        internal
        pure
        returns (IQuorumOracle.Observation[] memory list)
    {
        list = new IQuorumOracle.Observation[](2);
        (list[0], list[1]) = a.signer < b.signer ? (a, b) : (b, a);
    }

    /// @dev Whether the feed emitted an event with `topic0` among `logs`.
    function _emitted(Vm.Log[] memory logs, bytes32 topic0) internal view returns (bool) {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(feed) && logs[i].topics.length != 0 && logs[i].topics[0] == topic0) {
                return true;
            }
        }
        return false;
    }

    function _unauthorized(address caller) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, caller);
    }

    function _zoneConfig(string memory name) internal returns (IGridManagement.ZoneConfig memory) {
        return IGridManagement.ZoneConfig({
            name: name,
            treasury: makeAddr("treasury"),
            emissionFactor_gCO2ePerKWh: 233,
            capacityWhPerInterval: 500_000,
            fees: IGridManagement.FeeSchedule({peakFeeBps: 150, offPeakFeeBps: 50, peakStartHour: 17, peakEndHour: 21}),
            limits: IGridManagement.ComplianceLimits({
                minOrderWh: 100,
                maxOrderWh: 1_000_000,
                maxDailyTradedWhPerAccount: 5_000_000
            })
        });
    }
}
