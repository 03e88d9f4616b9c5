// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Test} from "forge-std/Test.sol";
import {IAccessManaged} from "@openzeppelin/contracts/access/manager/IAccessManaged.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {GridXAccessManager} from "../contracts/GridXAccessManager.sol";
import {GridManagement} from "../contracts/GridManagement.sol";
import {IGridManagement} from "../contracts/interfaces/IGridManagement.sol";
import {IQuorumOracle} from "../contracts/interfaces/IQuorumOracle.sol";
import {Roles} from "../contracts/libraries/Roles.sol";
import {MockOracleContractSigner} from "../contracts/mocks/MockOracleContractSigner.sol";
import {MockQuorumOracle} from "../contracts/mocks/MockQuorumOracle.sol";

/// @dev Shared setup of the oracle tests: a real AccessManager and GridManagement with one zone, 31 operator
/// keys sorted by address, and EIP-712 signing computed from the spec (domain and typed struct encoding),
/// never from the contract's own helpers, so a wrong typehash or encoding in the contract fails the tests.
abstract contract OracleTestBase is Test {
    bytes32 internal constant EIP712_DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    uint256 internal constant OPERATOR_COUNT = 31;
    uint8 internal constant QUORUM = 3;
    uint32 internal constant HEARTBEAT = 1 hours;
    uint32 internal constant TRADING_INTERVAL = 900;

    GridXAccessManager internal manager;
    GridManagement internal grid;
    uint32 internal zone;
    address internal relay = makeAddr("relay");
    address internal stranger = makeAddr("stranger");
    /// @dev Ascending by address, as `submitReport` wants its observations.
    address[] internal operators;
    uint256[] internal operatorKeys;

    function setUp() public virtual {
        vm.warp(1_750_000_000);
        manager = new GridXAccessManager(address(this));
        grid = new GridManagement(address(manager), TRADING_INTERVAL);
        zone = grid.createZone(_zoneConfig("Riverside"));
        for (uint256 i; i < OPERATOR_COUNT; ++i) {
            (address operator, uint256 key) = makeAddrAndKey(string.concat("operator", vm.toString(i)));
            _insertOperator(operator, key);
            manager.grantRole(Roles.ORACLE_OPERATOR, operator, 0);
        }
        _deployOracle();
    }

    // ─────────────────────────────────────────────────────────────── hooks

    function _deployOracle() internal virtual;

    function _oracle() internal view virtual returns (IQuorumOracle);

    function _domainName() internal pure virtual returns (string memory);

    /// @dev hashStruct of the oracle's report type, encoded with the Solidity types of its type string.
    function _hashStruct(uint32 zone_, uint64 round, uint64 observedAt, int256[] memory values)
        internal
        pure
        virtual
        returns (bytes32);

    // ─────────────────────────────────────────────────────────────── signing

    function _digest(
        address verifyingContract,
        uint256 chainId,
        uint32 zone_,
        uint64 round,
        uint64 observedAt,
        int256[] memory values
    ) internal pure returns (bytes32) {
        bytes32 domainSeparator = keccak256(
            abi.encode(
                EIP712_DOMAIN_TYPEHASH, keccak256(bytes(_domainName())), keccak256("1"), chainId, verifyingContract
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator, _hashStruct(zone_, round, observedAt, values)));
    }

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev Operator `index` observes `values` and signs them for this oracle on this chain.
    function _observation(uint256 index, uint32 zone_, uint64 round, uint64 observedAt, int256[] memory values)
        internal
        view
        returns (IQuorumOracle.Observation memory)
    {
        bytes32 digest = _digest(address(_oracle()), block.chainid, zone_, round, observedAt, values);
        return IQuorumOracle.Observation({
            signer: operators[index],
            observedAt: observedAt,
            values: values,
            signature: _sign(operatorKeys[index], digest)
        });
    }

    /// @dev The first `count` operators (ascending) all observe `values` at `observedAt`.
    function _observations(uint256 count, uint32 zone_, uint64 round, uint64 observedAt, int256[] memory values)
        internal
        view
        returns (IQuorumOracle.Observation[] memory list)
    {
        list = new IQuorumOracle.Observation[](count);
        for (uint256 i; i < count; ++i) {
            list[i] = _observation(i, zone_, round, observedAt, values);
        }
    }

    /// @dev A quorum of operators observes `values` in `zone` for `round`, now.
    function _quorumSigned(uint64 round, int256[] memory values)
        internal
        view
        returns (IQuorumOracle.Observation[] memory)
    {
        return _observations(QUORUM, zone, round, uint64(block.timestamp), values);
    }

    /// @dev A quorum of operators reports `values` for `round`, observed now, through an unprivileged relay.
    function _submit(uint64 round, int256[] memory values) internal {
        IQuorumOracle.Observation[] memory list = _quorumSigned(round, values);
        vm.prank(relay);
        _oracle().submitReport(zone, round, list);
    }

    function _expectSubmitRevert(uint64 round, IQuorumOracle.Observation[] memory list, bytes memory reason)
        internal
    {
        vm.expectRevert(reason);
        vm.prank(relay);
        _oracle().submitReport(zone, round, list);
    }

    // ─────────────────────────────────────────────────────────────── helpers

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

    function _config(int256 min, int256 max, uint16 maxDeviationBps)
        internal
        pure
        returns (IQuorumOracle.FieldConfig memory)
    {
        return IQuorumOracle.FieldConfig({min: min, max: max, maxDeviationBps: maxDeviationBps});
    }

    function _unauthorized(address caller) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, caller);
    }

    function _insertOperator(address operator, uint256 key) private {
        operators.push(operator);
        operatorKeys.push(key);
        uint256 i = operators.length - 1;
        while (i != 0 && operators[i - 1] > operator) {
            operators[i] = operators[i - 1];
            operatorKeys[i] = operatorKeys[i - 1];
            --i;
        }
        operators[i] = operator;
        operatorKeys[i] = key;
    }
}

/// @dev The QuorumOracle base through a two-field harness: `level` (int128) and `amount` (uint128), both with
/// hard limits of the int120 range a packed bound can take.
contract QuorumOracleTest is OracleTestBase {
    bytes32 internal constant MOCK_REPORT_TYPEHASH =
        keccak256("MockReport(uint32 zone,uint64 round,uint64 observedAt,int128 level,uint128 amount)");
    uint8 internal constant LEVEL = 0;
    uint8 internal constant AMOUNT = 1;
    int256 internal constant LEVEL_MIN = -1e12;
    int256 internal constant LEVEL_MAX = 1e12;
    int256 internal constant AMOUNT_MAX = 1e18;
    uint16 internal constant LEVEL_DEVIATION_BPS = 1_000;

    MockQuorumOracle internal oracle;

    function _deployOracle() internal override {
        oracle = _newOracle(address(manager), address(grid));
    }

    function _oracle() internal view override returns (IQuorumOracle) {
        return oracle;
    }

    function _domainName() internal pure override returns (string memory) {
        return "GridX MockQuorumOracle";
    }

    function _hashStruct(uint32 zone_, uint64 round, uint64 observedAt, int256[] memory values)
        internal
        pure
        override
        returns (bytes32)
    {
        return keccak256(
            abi.encode(
                MOCK_REPORT_TYPEHASH,
                zone_,
                round,
                observedAt,
                SafeCast.toInt128(values[LEVEL]),
                SafeCast.toUint128(SafeCast.toUint256(values[AMOUNT]))
            )
        );
    }

    function _newOracle(address authority, address gridManagement) internal returns (MockQuorumOracle) {
        return new MockQuorumOracle(authority, IGridManagement(gridManagement), QUORUM, HEARTBEAT, _defaultConfigs());
    }

    function _defaultConfigs() internal pure returns (IQuorumOracle.FieldConfig[] memory configs) {
        configs = new IQuorumOracle.FieldConfig[](2);
        configs[LEVEL] = _config(LEVEL_MIN, LEVEL_MAX, LEVEL_DEVIATION_BPS);
        configs[AMOUNT] = _config(0, AMOUNT_MAX, 0);
    }

    function _values(int256 level, int256 amount) internal pure returns (int256[] memory values) {
        values = new int256[](2);
        values[LEVEL] = level;
        values[AMOUNT] = amount;
    }

    function _signers(uint256 count) internal view returns (address[] memory signers) {
        signers = new address[](count);
        for (uint256 i; i < count; ++i) {
            signers[i] = operators[i];
        }
    }

    // ─────────────────────────────────────────────────────────────── constructor

    function test_constructor_configuresAndEmits() public {
        vm.expectEmit();
        emit IQuorumOracle.QuorumUpdated(QUORUM);
        vm.expectEmit();
        emit IQuorumOracle.HeartbeatUpdated(HEARTBEAT);
        vm.expectEmit();
        emit IQuorumOracle.FieldConfigUpdated(LEVEL, LEVEL_MIN, LEVEL_MAX, LEVEL_DEVIATION_BPS);
        vm.expectEmit();
        emit IQuorumOracle.FieldConfigUpdated(AMOUNT, 0, AMOUNT_MAX, 0);
        MockQuorumOracle fresh = _newOracle(address(manager), address(grid));

        assertEq(fresh.authority(), address(manager));
        assertEq(fresh.gridManagement(), address(grid));
        assertEq(fresh.quorum(), QUORUM);
        assertEq(fresh.heartbeat(), HEARTBEAT);
        assertEq(fresh.fieldCount(), 2);
        assertEq(fresh.MAX_OBSERVATIONS(), 31);
        assertEq(fresh.MAX_FUTURE_SKEW(), 60);
        assertEq(fresh.REPORT_TYPEHASH(), MOCK_REPORT_TYPEHASH);
        IQuorumOracle.FieldConfig memory level = fresh.fieldConfig(LEVEL);
        assertEq(level.min, LEVEL_MIN);
        assertEq(level.max, LEVEL_MAX);
        assertEq(level.maxDeviationBps, LEVEL_DEVIATION_BPS);
    }

    function test_constructor_revertsOnZeroAuthority() public {
        vm.expectRevert(IQuorumOracle.QuorumOracleZeroAddress.selector);
        _newOracle(address(0), address(grid));
    }

    function test_constructor_revertsOnZeroGridManagement() public {
        vm.expectRevert(IQuorumOracle.QuorumOracleZeroAddress.selector);
        _newOracle(address(manager), address(0));
    }

    function test_constructor_revertsOnFieldConfigCount() public {
        IQuorumOracle.FieldConfig[] memory configs = new IQuorumOracle.FieldConfig[](3);
        vm.expectRevert(abi.encodeWithSelector(IQuorumOracle.QuorumOracleFieldConfigCount.selector, 3, 2));
        new MockQuorumOracle(address(manager), grid, QUORUM, HEARTBEAT, configs);
    }

    function test_constructor_revertsOnInvalidQuorum() public {
        vm.expectRevert(abi.encodeWithSelector(IQuorumOracle.QuorumOracleInvalidQuorum.selector, 0));
        new MockQuorumOracle(address(manager), grid, 0, HEARTBEAT, _defaultConfigs());
    }

    function test_constructor_revertsOnInvalidHeartbeat() public {
        vm.expectRevert(abi.encodeWithSelector(IQuorumOracle.QuorumOracleInvalidHeartbeat.selector, 0));
        new MockQuorumOracle(address(manager), grid, QUORUM, 0, _defaultConfigs());
    }

    function test_constructor_revertsOnInvalidFieldConfig() public {
        IQuorumOracle.FieldConfig[] memory configs = _defaultConfigs();
        configs[AMOUNT] = _config(-1, AMOUNT_MAX, 0);
        vm.expectRevert(
            abi.encodeWithSelector(IQuorumOracle.QuorumOracleInvalidFieldConfig.selector, AMOUNT, -1, AMOUNT_MAX, 0)
        );
        new MockQuorumOracle(address(manager), grid, QUORUM, HEARTBEAT, configs);
    }

    function test_eip712Domain_bindsNameVersionChainAndContract() public view {
        (, string memory name, string memory version, uint256 chainId, address verifyingContract,,) =
            oracle.eip712Domain();
        assertEq(name, "GridX MockQuorumOracle");
        assertEq(version, "1");
        assertEq(chainId, block.chainid);
        assertEq(verifyingContract, address(oracle));
    }

    // ─────────────────────────────────────────────────────────────── submitReport: acceptance

    function test_submitReport_storesReportAndEmits() public {
        int256[] memory values = _values(-42, 7);
        IQuorumOracle.Observation[] memory list = _quorumSigned(1, values);
        vm.expectEmit(address(oracle));
        emit IQuorumOracle.ReportAccepted(zone, 1, uint64(block.timestamp), values, _signers(QUORUM));
        vm.prank(relay);
        oracle.submitReport(zone, 1, list);

        IQuorumOracle.ReportHeader memory header = oracle.reportHeader(zone);
        assertEq(header.round, 1);
        assertEq(header.observedAt, block.timestamp);
        assertEq(header.postedAt, block.timestamp);
        (uint64 round, uint64 observedAt, uint64 age, bool stale, int256[] memory stored) = oracle.latestReport(zone);
        assertEq(round, 1);
        assertEq(observedAt, block.timestamp);
        assertEq(age, 0);
        assertFalse(stale);
        assertEq(stored, values);
    }

    function test_submitReport_takesMedianOfOddCount() public {
        IQuorumOracle.Observation[] memory list = new IQuorumOracle.Observation[](5);
        int256[5] memory levels = [int256(30), -10, 50, 20, 40];
        int256[5] memory amounts = [int256(5), 1, 4, 2, 3];
        for (uint256 i; i < 5; ++i) {
            list[i] = _observation(i, zone, 1, uint64(block.timestamp), _values(levels[i], amounts[i]));
        }
        vm.prank(relay);
        oracle.submitReport(zone, 1, list);
        (,,,, int256[] memory stored) = oracle.latestReport(zone);
        assertEq(stored, _values(30, 3));
    }

    function test_submitReport_takesUpperMedianOfEvenCount() public {
        IQuorumOracle.Observation[] memory list = new IQuorumOracle.Observation[](4);
        int256[4] memory levels = [int256(-1), -4, -2, -3];
        for (uint256 i; i < 4; ++i) {
            list[i] = _observation(i, zone, 1, uint64(block.timestamp), _values(levels[i], int256(i)));
        }
        vm.prank(relay);
        oracle.submitReport(zone, 1, list);
        (,,,, int256[] memory stored) = oracle.latestReport(zone);
        assertEq(stored, _values(-2, 2)); // sorted[2] of (-4, -3, -2, -1) and (0, 1, 2, 3)
    }

    function test_submitReport_reportTimeIsMedianObservedAt() public {
        uint64 t = uint64(block.timestamp);
        uint64[3] memory times = [t - 100, t + 30, t - 5];
        IQuorumOracle.Observation[] memory list = new IQuorumOracle.Observation[](3);
        for (uint256 i; i < 3; ++i) {
            list[i] = _observation(i, zone, 1, times[i], _values(1, 1));
        }
        vm.prank(relay);
        oracle.submitReport(zone, 1, list);
        assertEq(oracle.reportHeader(zone).observedAt, t - 5);
    }

    function test_submitReport_outlierDoesNotMoveMedian() public {
        IQuorumOracle.Observation[] memory list = new IQuorumOracle.Observation[](3);
        list[0] = _observation(0, zone, 1, uint64(block.timestamp), _values(100, 10));
        list[1] = _observation(1, zone, 1, uint64(block.timestamp), _values(type(int128).max, 10)); // out of bounds
        list[2] = _observation(2, zone, 1, uint64(block.timestamp), _values(101, 10));
        vm.prank(relay);
        oracle.submitReport(zone, 1, list);
        (int256 level,,) = oracle.latestValue(zone, LEVEL);
        assertEq(level, 101);
    }

    function test_submitReport_acceptsMaxObservations() public {
        IQuorumOracle.Observation[] memory list =
            _observations(OPERATOR_COUNT, zone, 1, uint64(block.timestamp), _values(5, 5));
        vm.prank(relay);
        oracle.submitReport(zone, 1, list);
        assertEq(oracle.reportHeader(zone).round, 1);
    }

    function test_submitReport_acceptsIncreasingRoundsWithGaps() public {
        _submit(1, _values(100, 1));
        skip(10);
        _submit(7, _values(105, 1));
        assertEq(oracle.reportHeader(zone).round, 7);
    }

    function test_submitReport_acceptsErc1271Signer() public {
        MockOracleContractSigner contractSigner = new MockOracleContractSigner();
        manager.grantRole(Roles.ORACLE_OPERATOR, address(contractSigner), 0);
        int256[] memory values = _values(9, 9);
        uint64 t = uint64(block.timestamp);
        IQuorumOracle.Observation[] memory list = _observations(QUORUM, zone, 1, t, values);
        list[0] = IQuorumOracle.Observation(address(contractSigner), t, values, "");
        _sortBySigner(list);

        bytes32 digest = _digest(address(oracle), block.chainid, zone, 1, t, values);
        vm.expectRevert(
            abi.encodeWithSelector(IQuorumOracle.QuorumOracleInvalidSignature.selector, address(contractSigner))
        );
        vm.prank(relay);
        oracle.submitReport(zone, 1, list);

        contractSigner.approve(digest);
        vm.prank(relay);
        oracle.submitReport(zone, 1, list);
        assertEq(oracle.reportHeader(zone).round, 1);
    }

    // ─────────────────────────────────────────────────────────────── submitReport: zone and round

    function test_submitReport_revertsOnUnknownZone() public {
        uint32 unknown = zone + 1;
        IQuorumOracle.Observation[] memory list =
            _observations(QUORUM, unknown, 1, uint64(block.timestamp), _values(1, 1));
        vm.expectRevert(abi.encodeWithSelector(IQuorumOracle.QuorumOracleUnknownZone.selector, unknown));
        oracle.submitReport(unknown, 1, list);
    }

    function test_submitReport_revertsOnRoundZero() public {
        IQuorumOracle.Observation[] memory list = _quorumSigned(0, _values(1, 1));
        _expectSubmitRevert(0, list, abi.encodeWithSelector(IQuorumOracle.QuorumOracleStaleRound.selector, zone, 0, 0));
    }

    function test_submitReport_revertsOnReplayedRound() public {
        IQuorumOracle.Observation[] memory list = _quorumSigned(1, _values(1, 1));
        vm.prank(relay);
        oracle.submitReport(zone, 1, list);
        skip(5);
        _expectSubmitRevert(1, list, abi.encodeWithSelector(IQuorumOracle.QuorumOracleStaleRound.selector, zone, 1, 1));
    }

    function test_submitReport_revertsOnLowerRound() public {
        _submit(5, _values(1, 1));
        skip(5);
        IQuorumOracle.Observation[] memory list = _quorumSigned(4, _values(1, 1));
        _expectSubmitRevert(4, list, abi.encodeWithSelector(IQuorumOracle.QuorumOracleStaleRound.selector, zone, 4, 5));
    }

    function test_submitReport_revertsOnOutdatedReport() public {
        uint64 t = uint64(block.timestamp);
        _submit(1, _values(1, 1));
        skip(5);
        IQuorumOracle.Observation[] memory list = _observations(QUORUM, zone, 2, t, _values(1, 1));
        _expectSubmitRevert(
            2, list, abi.encodeWithSelector(IQuorumOracle.QuorumOracleOutdatedReport.selector, zone, t, t)
        );
    }

    // ─────────────────────────────────────────────────────────────── submitReport: observation list

    function test_submitReport_revertsOnTooFewObservations() public {
        IQuorumOracle.Observation[] memory list =
            _observations(QUORUM - 1, zone, 1, uint64(block.timestamp), _values(1, 1));
        _expectSubmitRevert(
            1,
            list,
            abi.encodeWithSelector(IQuorumOracle.QuorumOracleTooFewObservations.selector, QUORUM - 1, QUORUM)
        );
    }

    function test_submitReport_revertsOnTooManyObservations() public {
        IQuorumOracle.Observation[] memory list = new IQuorumOracle.Observation[](32);
        _expectSubmitRevert(
            1, list, abi.encodeWithSelector(IQuorumOracle.QuorumOracleTooManyObservations.selector, 32, 31)
        );
    }

    function test_submitReport_revertsOnDuplicateSigner() public {
        IQuorumOracle.Observation[] memory list = _quorumSigned(1, _values(1, 1));
        list[2] = list[1];
        _expectSubmitRevert(
            1,
            list,
            abi.encodeWithSelector(
                IQuorumOracle.QuorumOracleSignersNotAscending.selector, 2, operators[1], operators[1]
            )
        );
    }

    function test_submitReport_revertsOnDescendingSigners() public {
        IQuorumOracle.Observation[] memory list = _quorumSigned(1, _values(1, 1));
        (list[0], list[1]) = (list[1], list[0]);
        _expectSubmitRevert(
            1,
            list,
            abi.encodeWithSelector(
                IQuorumOracle.QuorumOracleSignersNotAscending.selector, 1, operators[0], operators[1]
            )
        );
    }

    function test_submitReport_revertsOnZeroSigner() public {
        IQuorumOracle.Observation[] memory list = _quorumSigned(1, _values(1, 1));
        list[0].signer = address(0);
        _expectSubmitRevert(
            1,
            list,
            abi.encodeWithSelector(IQuorumOracle.QuorumOracleSignersNotAscending.selector, 0, address(0), address(0))
        );
    }

    // ─────────────────────────────────────────────────────────────── submitReport: one observation

    function test_submitReport_revertsOnWrongFieldCount() public {
        IQuorumOracle.Observation[] memory list = _quorumSigned(1, _values(1, 1));
        list[1].values = new int256[](3);
        _expectSubmitRevert(
            1,
            list,
            abi.encodeWithSelector(IQuorumOracle.QuorumOracleWrongFieldCount.selector, operators[1], 3, 2)
        );
    }

    function test_submitReport_revertsOnObservationInFuture() public {
        uint64 latestAllowed = uint64(block.timestamp) + 60;
        IQuorumOracle.Observation[] memory list = _observations(QUORUM, zone, 1, latestAllowed + 1, _values(1, 1));
        _expectSubmitRevert(
            1,
            list,
            abi.encodeWithSelector(
                IQuorumOracle.QuorumOracleObservationInFuture.selector, operators[0], latestAllowed + 1, latestAllowed
            )
        );
    }

    function test_submitReport_revertsOnObservationTooOld() public {
        uint64 observedAt = uint64(block.timestamp) - HEARTBEAT - 1;
        IQuorumOracle.Observation[] memory list = _observations(QUORUM, zone, 1, observedAt, _values(1, 1));
        _expectSubmitRevert(
            1,
            list,
            abi.encodeWithSelector(
                IQuorumOracle.QuorumOracleObservationTooOld.selector, operators[0], observedAt, HEARTBEAT + 1, HEARTBEAT
            )
        );
    }

    function test_submitReport_revertsOnNonOperator() public {
        IQuorumOracle.Observation[] memory list = _quorumSigned(1, _values(1, 1));
        manager.revokeRole(Roles.ORACLE_OPERATOR, operators[2]);
        _expectSubmitRevert(
            1, list, abi.encodeWithSelector(IQuorumOracle.QuorumOracleNotOperator.selector, operators[2])
        );
    }

    function test_submitReport_revertsOnOperatorBeforeGrantDelay() public {
        manager.setGrantDelay(Roles.ORACLE_OPERATOR, 1 days);
        skip(manager.minSetback()); // a longer grant delay takes effect only after the setback
        (address newcomer, uint256 key) = makeAddrAndKey("newcomer");
        manager.grantRole(Roles.ORACLE_OPERATOR, newcomer, 0);

        int256[] memory values = _values(1, 1);
        IQuorumOracle.Observation[] memory list = _quorumSigned(1, values);
        list[0] = IQuorumOracle.Observation({
            signer: newcomer,
            observedAt: uint64(block.timestamp),
            values: values,
            signature: _sign(key, _digest(address(oracle), block.chainid, zone, 1, uint64(block.timestamp), values))
        });
        _sortBySigner(list);
        _expectSubmitRevert(1, list, abi.encodeWithSelector(IQuorumOracle.QuorumOracleNotOperator.selector, newcomer));
    }

    function test_submitReport_revertsOnTamperedValue() public {
        IQuorumOracle.Observation[] memory list = _quorumSigned(1, _values(1, 1));
        list[1].values = _values(2, 1);
        _expectSubmitRevert(
            1, list, abi.encodeWithSelector(IQuorumOracle.QuorumOracleInvalidSignature.selector, operators[1])
        );
    }

    function test_submitReport_revertsOnTamperedRound() public {
        IQuorumOracle.Observation[] memory list = _quorumSigned(1, _values(1, 1));
        _expectSubmitRevert(
            2, list, abi.encodeWithSelector(IQuorumOracle.QuorumOracleInvalidSignature.selector, operators[0])
        );
    }

    function test_submitReport_revertsOnTamperedZone() public {
        uint32 otherZone = grid.createZone(_zoneConfig("Hillside"));
        IQuorumOracle.Observation[] memory list = _quorumSigned(1, _values(1, 1));
        vm.expectRevert(abi.encodeWithSelector(IQuorumOracle.QuorumOracleInvalidSignature.selector, operators[0]));
        oracle.submitReport(otherZone, 1, list);
    }

    function test_submitReport_revertsOnTamperedObservedAt() public {
        IQuorumOracle.Observation[] memory list = _quorumSigned(1, _values(1, 1));
        list[2].observedAt -= 1;
        _expectSubmitRevert(
            1, list, abi.encodeWithSelector(IQuorumOracle.QuorumOracleInvalidSignature.selector, operators[2])
        );
    }

    function test_submitReport_revertsOnSignatureOfAnotherOperator() public {
        IQuorumOracle.Observation[] memory list = _quorumSigned(1, _values(1, 1));
        list[0].signature = list[1].signature;
        _expectSubmitRevert(
            1, list, abi.encodeWithSelector(IQuorumOracle.QuorumOracleInvalidSignature.selector, operators[0])
        );
    }

    function test_submitReport_revertsOnMalformedSignature() public {
        IQuorumOracle.Observation[] memory list = _quorumSigned(1, _values(1, 1));
        list[0].signature = hex"1234";
        _expectSubmitRevert(
            1, list, abi.encodeWithSelector(IQuorumOracle.QuorumOracleInvalidSignature.selector, operators[0])
        );
    }

    function test_submitReport_revertsOnReplayToAnotherDeployment() public {
        IQuorumOracle.Observation[] memory list = _quorumSigned(1, _values(1, 1));
        vm.prank(relay);
        oracle.submitReport(zone, 1, list);

        MockQuorumOracle twin = _newOracle(address(manager), address(grid));
        vm.expectRevert(abi.encodeWithSelector(IQuorumOracle.QuorumOracleInvalidSignature.selector, operators[0]));
        twin.submitReport(zone, 1, list);
    }

    function test_submitReport_revertsOnReplayToAnotherChain() public {
        IQuorumOracle.Observation[] memory list = _quorumSigned(1, _values(1, 1));
        vm.chainId(block.chainid + 1);
        _expectSubmitRevert(
            1, list, abi.encodeWithSelector(IQuorumOracle.QuorumOracleInvalidSignature.selector, operators[0])
        );
        (,,, uint256 chainId,,,) = oracle.eip712Domain();
        assertEq(chainId, block.chainid);
    }

    // ─────────────────────────────────────────────────────────────── submitReport: bounds and deviation

    function test_submitReport_revertsBelowMin() public {
        IQuorumOracle.Observation[] memory list =
            _quorumSigned(1, _values(LEVEL_MIN - 1, 1));
        _expectSubmitRevert(
            1,
            list,
            abi.encodeWithSelector(
                IQuorumOracle.QuorumOracleOutOfBounds.selector, zone, LEVEL, LEVEL_MIN - 1, LEVEL_MIN, LEVEL_MAX
            )
        );
    }

    function test_submitReport_revertsAboveMax() public {
        IQuorumOracle.Observation[] memory list =
            _quorumSigned(1, _values(1, AMOUNT_MAX + 1));
        _expectSubmitRevert(
            1,
            list,
            abi.encodeWithSelector(
                IQuorumOracle.QuorumOracleOutOfBounds.selector, zone, AMOUNT, AMOUNT_MAX + 1, 0, AMOUNT_MAX
            )
        );
    }

    function test_submitReport_revertsOnDeviationTooHigh() public {
        _submit(1, _values(-1_000, 1));
        skip(10);
        IQuorumOracle.Observation[] memory list = _quorumSigned(2, _values(-1_101, 1));
        _expectSubmitRevert(
            2,
            list,
            abi.encodeWithSelector(
                IQuorumOracle.QuorumOracleDeviationTooHigh.selector, zone, LEVEL, -1_000, -1_101, LEVEL_DEVIATION_BPS
            )
        );
        _submit(2, _values(-1_100, 1)); // exactly 10%
        (int256 level,,) = oracle.latestValue(zone, LEVEL);
        assertEq(level, -1_100);
    }

    /// @dev A stale previous report must not lock the feed: once it is older than the heartbeat any in-bounds
    /// value is accepted, and the new report re-arms the guard.
    function test_submitReport_deviationIgnoredWhenPreviousStale() public {
        _submit(1, _values(1_000, 1));
        skip(HEARTBEAT);
        IQuorumOracle.Observation[] memory list = _quorumSigned(2, _values(5_000, 1));
        _expectSubmitRevert(
            2,
            list,
            abi.encodeWithSelector(
                IQuorumOracle.QuorumOracleDeviationTooHigh.selector, zone, LEVEL, 1_000, 5_000, LEVEL_DEVIATION_BPS
            )
        );
        skip(1);
        _submit(2, _values(5_000, 1));
        skip(1);
        list = _quorumSigned(3, _values(1_000, 1));
        _expectSubmitRevert(
            3,
            list,
            abi.encodeWithSelector(
                IQuorumOracle.QuorumOracleDeviationTooHigh.selector, zone, LEVEL, 5_000, 1_000, LEVEL_DEVIATION_BPS
            )
        );
    }

    /// @dev The relative move away from zero is undefined, so a zero previous value does not constrain the next.
    function test_submitReport_deviationIgnoredWhenPreviousZero() public {
        _submit(1, _values(0, 1));
        skip(10);
        _submit(2, _values(LEVEL_MAX, 1));
        (int256 level,,) = oracle.latestValue(zone, LEVEL);
        assertEq(level, LEVEL_MAX);
    }

    function test_submitReport_deviationIgnoredWhenDisabled() public {
        _submit(1, _values(1, 1));
        skip(10);
        _submit(2, _values(1, AMOUNT_MAX)); // AMOUNT has maxDeviationBps 0
        (int256 amount,,) = oracle.latestValue(zone, AMOUNT);
        assertEq(amount, AMOUNT_MAX);
    }

    function test_submitReport_zonesAreIndependent() public {
        uint32 otherZone = grid.createZone(_zoneConfig("Hillside"));
        _submit(1, _values(1_000, 1));
        IQuorumOracle.Observation[] memory list =
            _observations(QUORUM, otherZone, 1, uint64(block.timestamp), _values(-5_000, 2));
        oracle.submitReport(otherZone, 1, list);
        (int256 level,,) = oracle.latestValue(zone, LEVEL);
        (int256 otherLevel,,) = oracle.latestValue(otherZone, LEVEL);
        assertEq(level, 1_000);
        assertEq(otherLevel, -5_000);
    }

    // ─────────────────────────────────────────────────────────────── governance

    function test_setQuorum_updatesAndEmits() public {
        vm.expectEmit(address(oracle));
        emit IQuorumOracle.QuorumUpdated(31);
        oracle.setQuorum(31);
        assertEq(oracle.quorum(), 31);
    }

    function test_setQuorum_revertsOnZero() public {
        vm.expectRevert(abi.encodeWithSelector(IQuorumOracle.QuorumOracleInvalidQuorum.selector, 0));
        oracle.setQuorum(0);
    }

    function test_setQuorum_revertsAboveMaxObservations() public {
        vm.expectRevert(abi.encodeWithSelector(IQuorumOracle.QuorumOracleInvalidQuorum.selector, 32));
        oracle.setQuorum(32);
    }

    function test_setQuorum_revertsWhenUnauthorized() public {
        vm.expectRevert(_unauthorized(stranger));
        vm.prank(stranger);
        oracle.setQuorum(2);
    }

    function test_setQuorum_allowsRoleAssignedByAccessManager() public {
        bytes4[] memory selectors = new bytes4[](1);
        selectors[0] = oracle.setQuorum.selector;
        manager.setTargetFunctionRole(address(oracle), selectors, Roles.GUARDIAN);
        manager.grantRole(Roles.GUARDIAN, stranger, 0);
        vm.prank(stranger);
        oracle.setQuorum(2);
        assertEq(oracle.quorum(), 2);
    }

    function test_setHeartbeat_updatesAndEmits() public {
        vm.expectEmit(address(oracle));
        emit IQuorumOracle.HeartbeatUpdated(15 minutes);
        oracle.setHeartbeat(15 minutes);
        assertEq(oracle.heartbeat(), 15 minutes);
    }

    function test_setHeartbeat_revertsOnZero() public {
        vm.expectRevert(abi.encodeWithSelector(IQuorumOracle.QuorumOracleInvalidHeartbeat.selector, 0));
        oracle.setHeartbeat(0);
    }

    function test_setHeartbeat_revertsWhenUnauthorized() public {
        vm.expectRevert(_unauthorized(stranger));
        vm.prank(stranger);
        oracle.setHeartbeat(60);
    }

    function test_setFieldConfig_updatesAndEmits() public {
        vm.expectEmit(address(oracle));
        emit IQuorumOracle.FieldConfigUpdated(LEVEL, type(int120).min, type(int120).max, 10_000);
        oracle.setFieldConfig(LEVEL, type(int120).min, type(int120).max, 10_000);
        IQuorumOracle.FieldConfig memory config = oracle.fieldConfig(LEVEL);
        assertEq(config.min, type(int120).min);
        assertEq(config.max, type(int120).max);
        assertEq(config.maxDeviationBps, 10_000);
    }

    function test_setFieldConfig_acceptsSingleValueRange() public {
        oracle.setFieldConfig(AMOUNT, 5, 5, 0);
        assertEq(oracle.fieldConfig(AMOUNT).max, 5);
    }

    function test_setFieldConfig_revertsOnUnknownField() public {
        vm.expectRevert(abi.encodeWithSelector(IQuorumOracle.QuorumOracleUnknownField.selector, 2, 2));
        oracle.setFieldConfig(2, 0, 1, 0);
    }

    function test_setFieldConfig_revertsWhenMinAboveMax() public {
        vm.expectRevert(abi.encodeWithSelector(IQuorumOracle.QuorumOracleInvalidFieldConfig.selector, LEVEL, 1, 0, 0));
        oracle.setFieldConfig(LEVEL, 1, 0, 0);
    }

    function test_setFieldConfig_revertsBelowHardLimit() public {
        int256 min = int256(type(int120).min) - 1;
        vm.expectRevert(
            abi.encodeWithSelector(IQuorumOracle.QuorumOracleInvalidFieldConfig.selector, LEVEL, min, 0, 0)
        );
        oracle.setFieldConfig(LEVEL, min, 0, 0);
    }

    function test_setFieldConfig_revertsAboveHardLimit() public {
        int256 max = int256(type(int120).max) + 1;
        vm.expectRevert(
            abi.encodeWithSelector(IQuorumOracle.QuorumOracleInvalidFieldConfig.selector, AMOUNT, 0, max, 0)
        );
        oracle.setFieldConfig(AMOUNT, 0, max, 0);
    }

    function test_setFieldConfig_revertsOnDeviationAboveFullScale() public {
        vm.expectRevert(
            abi.encodeWithSelector(IQuorumOracle.QuorumOracleInvalidFieldConfig.selector, LEVEL, 0, 1, 10_001)
        );
        oracle.setFieldConfig(LEVEL, 0, 1, 10_001);
    }

    function test_setFieldConfig_revertsWhenUnauthorized() public {
        vm.expectRevert(_unauthorized(stranger));
        vm.prank(stranger);
        oracle.setFieldConfig(LEVEL, 0, 1, 0);
    }

    /// @dev Narrowing bounds does not rewrite history: the stored value stays readable, the next report must obey.
    function test_setFieldConfig_doesNotRecheckStoredValues() public {
        _submit(1, _values(500, 1));
        oracle.setFieldConfig(LEVEL, 0, 100, 0);
        (int256 level,) = oracle.freshValue(zone, LEVEL);
        assertEq(level, 500);
    }

    // ─────────────────────────────────────────────────────────────── views

    function test_latestReport_beforeFirstReport() public view {
        (uint64 round, uint64 observedAt, uint64 age, bool stale, int256[] memory values) = oracle.latestReport(zone);
        assertEq(round, 0);
        assertEq(observedAt, 0);
        assertEq(age, block.timestamp);
        assertTrue(stale);
        assertEq(values, _values(0, 0));
    }

    function test_latestReport_staleAfterHeartbeat() public {
        _submit(1, _values(1, 1));
        skip(HEARTBEAT);
        (,, uint64 age, bool stale,) = oracle.latestReport(zone);
        assertEq(age, HEARTBEAT);
        assertFalse(stale);
        skip(1);
        (,, age, stale,) = oracle.latestReport(zone);
        assertEq(age, HEARTBEAT + 1);
        assertTrue(stale);
    }

    function test_latestReport_ageIsZeroWhileObservedAtIsAhead() public {
        uint64 ahead = uint64(block.timestamp) + 30;
        IQuorumOracle.Observation[] memory list = _observations(QUORUM, zone, 1, ahead, _values(1, 1));
        oracle.submitReport(zone, 1, list);
        (, uint64 observedAt, uint64 age, bool stale,) = oracle.latestReport(zone);
        assertEq(observedAt, ahead);
        assertEq(age, 0);
        assertFalse(stale);
    }

    function test_latestValue_returnsValueObservedAtAndAge() public {
        uint64 t = uint64(block.timestamp);
        _submit(1, _values(-7, 8));
        skip(2 * HEARTBEAT);
        (int256 value, uint64 observedAt, uint64 age) = oracle.latestValue(zone, AMOUNT);
        assertEq(value, 8);
        assertEq(observedAt, t);
        assertEq(age, 2 * HEARTBEAT);
    }

    function test_latestValue_beforeFirstReport() public view {
        (int256 value, uint64 observedAt,) = oracle.latestValue(zone, LEVEL);
        assertEq(value, 0);
        assertEq(observedAt, 0);
    }

    function test_latestValue_revertsOnUnknownField() public {
        vm.expectRevert(abi.encodeWithSelector(IQuorumOracle.QuorumOracleUnknownField.selector, 2, 2));
        oracle.latestValue(zone, 2);
    }

    function test_freshValue_returnsFreshValue() public {
        uint64 t = uint64(block.timestamp);
        _submit(1, _values(-7, 8));
        (int256 value, uint64 observedAt) = oracle.freshValue(zone, LEVEL);
        assertEq(value, -7);
        assertEq(observedAt, t);
    }

    function test_freshValue_revertsOnNoReport() public {
        vm.expectRevert(abi.encodeWithSelector(IQuorumOracle.QuorumOracleNoReport.selector, zone));
        oracle.freshValue(zone, LEVEL);
    }

    function test_freshValue_revertsWhenStale() public {
        _submit(1, _values(1, 1));
        skip(HEARTBEAT + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IQuorumOracle.QuorumOracleStale.selector, zone, HEARTBEAT + 1, HEARTBEAT)
        );
        oracle.freshValue(zone, LEVEL);
    }

    function test_freshValue_revertsOnUnknownField() public {
        vm.expectRevert(abi.encodeWithSelector(IQuorumOracle.QuorumOracleUnknownField.selector, 9, 2));
        oracle.freshValue(zone, 9);
    }

    function test_fieldConfig_revertsOnUnknownField() public {
        vm.expectRevert(abi.encodeWithSelector(IQuorumOracle.QuorumOracleUnknownField.selector, 2, 2));
        oracle.fieldConfig(2);
    }

    function test_fieldLimits_returnsTypeRange() public view {
        (int256 min, int256 max) = oracle.fieldLimits(LEVEL);
        assertEq(min, type(int120).min);
        assertEq(max, type(int120).max);
        (min, max) = oracle.fieldLimits(AMOUNT);
        assertEq(min, 0);
        assertEq(max, type(int120).max);
    }

    function test_fieldLimits_revertsOnUnknownField() public {
        vm.expectRevert(abi.encodeWithSelector(IQuorumOracle.QuorumOracleUnknownField.selector, 255, 2));
        oracle.fieldLimits(255);
    }

    function test_reportDigest_matchesEip712() public view {
        int256[] memory values = _values(-3, 4);
        assertEq(
            oracle.reportDigest(zone, 9, 1_234, values), _digest(address(oracle), block.chainid, zone, 9, 1_234, values)
        );
    }

    // ─────────────────────────────────────────────────────────────── fuzz

    /// @dev Random values, times and observation counts: stored values and report time equal an O(n²)
    /// rank-based reference median (`sorted[n / 2]`).
    function testFuzz_submitReport_medianMatchesReference(uint256 seed, uint256 count) public {
        count = bound(count, QUORUM, OPERATOR_COUNT);
        oracle.setFieldConfig(LEVEL, type(int120).min, type(int120).max, 0);
        oracle.setFieldConfig(AMOUNT, 0, type(int120).max, 0);

        int256[] memory levels = new int256[](count);
        int256[] memory amounts = new int256[](count);
        int256[] memory times = new int256[](count);
        IQuorumOracle.Observation[] memory list = new IQuorumOracle.Observation[](count);
        for (uint256 i; i < count; ++i) {
            uint256 word = uint256(keccak256(abi.encode(seed, i)));
            // Few distinct values on some seeds, to exercise ties.
            levels[i] = seed % 3 == 0 ? int256(word % 5) - 2 : int256(int120(uint120(word)));
            amounts[i] = int256(uint256(uint120(word >> 128) >> 1)); // [0, int120 max]
            times[i] = int256(block.timestamp) - int256(word % (HEARTBEAT + 1)) + int256((word >> 64) % 61);
            list[i] = _observation(i, zone, 1, uint64(uint256(times[i])), _values(levels[i], amounts[i]));
        }
        oracle.submitReport(zone, 1, list);

        (, uint64 observedAt,,, int256[] memory stored) = oracle.latestReport(zone);
        assertEq(stored[LEVEL], _referenceMedian(levels));
        assertEq(stored[AMOUNT], _referenceMedian(amounts));
        assertEq(int256(uint256(observedAt)), _referenceMedian(times));
    }

    function testFuzz_submitReport_enforcesBounds(int120 value, int120 a, int120 b) public {
        (int256 min, int256 max) = (int256(a), int256(b));
        if (min > max) (min, max) = (max, min);
        oracle.setFieldConfig(LEVEL, min, max, 0);
        IQuorumOracle.Observation[] memory list = _quorumSigned(1, _values(value, 1));
        if (value < min || value > max) {
            vm.expectRevert(
                abi.encodeWithSelector(IQuorumOracle.QuorumOracleOutOfBounds.selector, zone, LEVEL, value, min, max)
            );
        }
        oracle.submitReport(zone, 1, list);
    }

    /// @dev A move of exactly maxDeviationBps of the previous value is accepted, one unit more is not.
    function testFuzz_submitReport_deviationBoundary(int96 previous, uint16 bps, bool up) public {
        vm.assume(previous != 0);
        bps = uint16(bound(bps, 1, 10_000));
        oracle.setFieldConfig(LEVEL, type(int120).min, type(int120).max, bps);
        _submit(1, _values(previous, 1));
        skip(1);

        uint256 magnitude = previous < 0 ? uint256(-int256(previous)) : uint256(int256(previous));
        int256 maxDelta = int256(magnitude * bps / 10_000);
        int256 edge = up ? previous + maxDelta : previous - maxDelta;
        int256 beyond = up ? edge + 1 : edge - 1;

        IQuorumOracle.Observation[] memory list = _quorumSigned(2, _values(beyond, 1));
        _expectSubmitRevert(
            2,
            list,
            abi.encodeWithSelector(
                IQuorumOracle.QuorumOracleDeviationTooHigh.selector, zone, LEVEL, previous, beyond, bps
            )
        );
        _submit(2, _values(edge, 1));
        (int256 level,,) = oracle.latestValue(zone, LEVEL);
        assertEq(level, edge);
    }

    /// @dev The previous value binds while its age is ≤ heartbeat and stops binding one second later.
    function testFuzz_submitReport_deviationReleasedAfterHeartbeat(uint32 heartbeatSeconds) public {
        heartbeatSeconds = uint32(bound(heartbeatSeconds, 1, 365 days));
        oracle.setHeartbeat(heartbeatSeconds);
        _submit(1, _values(100, 1));
        skip(heartbeatSeconds);
        IQuorumOracle.Observation[] memory list = _quorumSigned(2, _values(1_000, 1));
        _expectSubmitRevert(
            2,
            list,
            abi.encodeWithSelector(
                IQuorumOracle.QuorumOracleDeviationTooHigh.selector, zone, LEVEL, 100, 1_000, LEVEL_DEVIATION_BPS
            )
        );
        skip(1);
        _submit(2, _values(1_000, 1));
    }

    function testFuzz_submitReport_futureSkewBoundary(uint32 elapsed) public {
        skip(bound(elapsed, 0, 365 days));
        uint64 latestAllowed = uint64(block.timestamp) + 60;
        IQuorumOracle.Observation[] memory list = _observations(QUORUM, zone, 1, latestAllowed + 1, _values(1, 1));
        _expectSubmitRevert(
            1,
            list,
            abi.encodeWithSelector(
                IQuorumOracle.QuorumOracleObservationInFuture.selector, operators[0], latestAllowed + 1, latestAllowed
            )
        );
        list = _observations(QUORUM, zone, 1, latestAllowed, _values(1, 1));
        oracle.submitReport(zone, 1, list);
        assertEq(oracle.reportHeader(zone).observedAt, latestAllowed);
    }

    function testFuzz_submitReport_heartbeatBoundary(uint32 heartbeatSeconds) public {
        heartbeatSeconds = uint32(bound(heartbeatSeconds, 1, 365 days));
        oracle.setHeartbeat(heartbeatSeconds);
        uint64 oldest = uint64(block.timestamp) - heartbeatSeconds;
        IQuorumOracle.Observation[] memory list = _observations(QUORUM, zone, 1, oldest - 1, _values(1, 1));
        _expectSubmitRevert(
            1,
            list,
            abi.encodeWithSelector(
                IQuorumOracle.QuorumOracleObservationTooOld.selector,
                operators[0],
                oldest - 1,
                uint64(heartbeatSeconds) + 1,
                heartbeatSeconds
            )
        );
        list = _observations(QUORUM, zone, 1, oldest, _values(1, 1));
        oracle.submitReport(zone, 1, list);
        assertEq(oracle.reportHeader(zone).observedAt, oldest);
    }

    function testFuzz_freshValue_heartbeatBoundary(uint32 heartbeatSeconds) public {
        heartbeatSeconds = uint32(bound(heartbeatSeconds, 1, 365 days));
        oracle.setHeartbeat(heartbeatSeconds);
        _submit(1, _values(3, 1));
        skip(heartbeatSeconds);
        (int256 value,) = oracle.freshValue(zone, LEVEL);
        assertEq(value, 3);
        skip(1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IQuorumOracle.QuorumOracleStale.selector, zone, uint64(heartbeatSeconds) + 1, heartbeatSeconds
            )
        );
        oracle.freshValue(zone, LEVEL);
    }

    // ─────────────────────────────────────────────────────────────── test helpers

    /// @dev The element x with #{y < x} ≤ n/2 < #{y ≤ x}, i.e. sorted[n / 2], without sorting.
    function _referenceMedian(int256[] memory list) internal pure returns (int256) {
        uint256 n = list.length;
        for (uint256 i; i < n; ++i) {
            uint256 below;
            uint256 atOrBelow;
            for (uint256 j; j < n; ++j) {
                if (list[j] < list[i]) ++below;
                if (list[j] <= list[i]) ++atOrBelow;
            }
            if (below <= n / 2 && n / 2 < atOrBelow) return list[i];
        }
        revert("no median");
    }

    function _sortBySigner(IQuorumOracle.Observation[] memory list) internal pure {
        for (uint256 i = 1; i < list.length; ++i) {
            for (uint256 j = i; j != 0 && list[j - 1].signer > list[j].signer; --j) {
                (list[j - 1], list[j]) = (list[j], list[j - 1]);
            }
        }
    }
}
