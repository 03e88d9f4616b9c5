// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {IAccessManager} from "@openzeppelin/contracts/access/manager/IAccessManager.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";
import {IGridManagement} from "./interfaces/IGridManagement.sol";
import {IQuorumOracle} from "./interfaces/IQuorumOracle.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title QuorumOracle
/// @notice Base of the GridX oracles: k-of-n signed, median-aggregated, bounded, per-zone reports.
/// @dev A concrete oracle defines its field count, its EIP-712 report typehash and the hard limits of each
/// field. The authority must be an AccessManager: operator membership is read from it with `hasRole`
/// (its execution delay, which governs scheduled calls, does not apply to signing). Every external call
/// made while verifying a report (zone registry, AccessManager, ERC-1271 signers) is a view, hence a
/// STATICCALL that cannot re-enter.
abstract contract QuorumOracle is IQuorumOracle, AccessManaged, EIP712 {
    // ─────────────────────────────────────────────────────────────── constants

    /// @inheritdoc IQuorumOracle
    uint8 public constant MAX_OBSERVATIONS = 31;
    /// @inheritdoc IQuorumOracle
    uint64 public constant MAX_FUTURE_SKEW = 60;
    uint16 private constant _BPS = 10_000;

    // ─────────────────────────────────────────────────────────────── storage

    /// @dev A FieldConfig in one slot, so a report reads one slot per field. Every concrete oracle's hard
    /// limits fit in int120 (±6.6e35), and configured bounds never leave the hard limits.
    struct PackedFieldConfig {
        int120 min;
        int120 max;
        uint16 maxDeviationBps;
    }

    IGridManagement private immutable _gridManagement;
    /// @dev Packed: both are read once per report.
    uint8 private _quorum;
    uint32 private _heartbeatSeconds;
    mapping(uint8 field => PackedFieldConfig) private _fieldConfigs;
    mapping(uint32 zone => ReportHeader) private _reports;
    mapping(uint32 zone => mapping(uint8 field => int256 value)) private _values;

    // ─────────────────────────────────────────────────────────────── constructor

    /// @param name The EIP-712 domain name, e.g. "GridX PriceOracle" (version is "1").
    /// @param initialAuthority The GridX AccessManager.
    /// @param gridManagement_ The zone registry.
    /// @param quorum_ Distinct operator observations a report needs.
    /// @param heartbeatSeconds Maximum age of fresh data.
    /// @param fieldConfigs One config per field, in field order.
    constructor(
        string memory name,
        address initialAuthority,
        IGridManagement gridManagement_,
        uint8 quorum_,
        uint32 heartbeatSeconds,
        FieldConfig[] memory fieldConfigs
    ) AccessManaged(initialAuthority) EIP712(name, "1") {
        require(
            initialAuthority != address(0) && address(gridManagement_) != address(0), QuorumOracleZeroAddress()
        );
        uint8 fields = _fieldCount();
        require(fieldConfigs.length == fields, QuorumOracleFieldConfigCount(fieldConfigs.length, fields));
        _gridManagement = gridManagement_;
        _setQuorum(quorum_);
        _setHeartbeat(heartbeatSeconds);
        for (uint8 field; field < fields; ++field) {
            _setFieldConfig(field, fieldConfigs[field]);
        }
    }

    // ─────────────────────────────────────────────────────────────── reporting

    /// @inheritdoc IQuorumOracle
    function submitReport(uint32 zone, uint64 round, Observation[] calldata observations) external {
        require(_gridManagement.zoneExists(zone), QuorumOracleUnknownZone(zone));
        ReportHeader memory last = _reports[zone];
        require(round > last.round, QuorumOracleStaleRound(zone, round, last.round));

        (int256[][] memory columns, int256[] memory times, address[] memory signers) =
            _verifyObservations(zone, round, observations);

        uint64 observedAt = uint64(uint256(_median(times)));
        require(observedAt > last.observedAt, QuorumOracleOutdatedReport(zone, observedAt, last.observedAt));

        // The deviation guard compares against the previous report only while it is fresh, so a zone whose
        // feed stalled can always recover to the current value.
        bool previousFresh = last.round != 0 && _age(last.observedAt) <= _heartbeatSeconds;
        uint8 fields = uint8(columns.length);
        int256[] memory values = new int256[](fields);
        mapping(uint8 field => int256 value) storage stored = _values[zone];
        for (uint8 field; field < fields; ++field) {
            int256 value = _median(columns[field]);
            _checkValue(zone, field, value, stored[field], previousFresh);
            values[field] = value;
            stored[field] = value;
        }
        _reports[zone] = ReportHeader(round, observedAt, uint64(block.timestamp));
        emit ReportAccepted(zone, round, observedAt, values, signers);
        _afterReport(zone, observedAt, values);
    }

    // ─────────────────────────────────────────────────────────────── governance

    /// @inheritdoc IQuorumOracle
    function setQuorum(uint8 quorum_) external restricted {
        _setQuorum(quorum_);
    }

    /// @inheritdoc IQuorumOracle
    function setHeartbeat(uint32 heartbeatSeconds) external restricted {
        _setHeartbeat(heartbeatSeconds);
    }

    /// @inheritdoc IQuorumOracle
    function setFieldConfig(uint8 field, int256 min, int256 max, uint16 maxDeviationBps) external restricted {
        _setFieldConfig(field, FieldConfig(min, max, maxDeviationBps));
    }

    // ─────────────────────────────────────────────────────────────── views

    /// @inheritdoc IQuorumOracle
    function gridManagement() external view returns (address) {
        return address(_gridManagement);
    }

    /// @inheritdoc IQuorumOracle
    function quorum() external view returns (uint8) {
        return _quorum;
    }

    /// @inheritdoc IQuorumOracle
    function heartbeat() public view returns (uint32) {
        return _heartbeatSeconds;
    }

    /// @inheritdoc IQuorumOracle
    function fieldCount() external pure returns (uint8) {
        return _fieldCount();
    }

    /// @inheritdoc IQuorumOracle
    function fieldConfig(uint8 field) external view returns (FieldConfig memory) {
        _requireField(field);
        PackedFieldConfig memory config = _fieldConfigs[field];
        return FieldConfig(config.min, config.max, config.maxDeviationBps);
    }

    /// @inheritdoc IQuorumOracle
    function fieldLimits(uint8 field) external pure returns (int256 min, int256 max) {
        _requireField(field);
        return _fieldLimits(field);
    }

    /// @inheritdoc IQuorumOracle
    function reportDigest(uint32 zone, uint64 round, uint64 observedAt, int256[] calldata values)
        external
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(_structHash(zone, round, observedAt, values));
    }

    /// @inheritdoc IQuorumOracle
    function reportHeader(uint32 zone) external view returns (ReportHeader memory) {
        return _reports[zone];
    }

    /// @inheritdoc IQuorumOracle
    function latestReport(uint32 zone)
        external
        view
        returns (uint64 round, uint64 observedAt, uint64 age, bool stale, int256[] memory values)
    {
        bool fresh;
        (round, observedAt, age, fresh) = _status(zone);
        stale = !fresh;
        uint8 fields = _fieldCount();
        values = new int256[](fields);
        for (uint8 field; field < fields; ++field) {
            values[field] = _values[zone][field];
        }
    }

    /// @inheritdoc IQuorumOracle
    function latestValue(uint32 zone, uint8 field) external view returns (int256 value, uint64 observedAt, uint64 age) {
        _requireField(field);
        (, observedAt, age,) = _status(zone);
        value = _values[zone][field];
    }

    /// @inheritdoc IQuorumOracle
    function freshValue(uint32 zone, uint8 field) external view returns (int256 value, uint64 observedAt) {
        _requireField(field);
        (uint64 round, uint64 observedAt_, uint64 age, bool fresh) = _status(zone);
        require(round != 0, QuorumOracleNoReport(zone));
        require(fresh, QuorumOracleStale(zone, age, _heartbeatSeconds));
        return (_values[zone][field], observedAt_);
    }

    // ─────────────────────────────────────────────────────────────── hooks for concrete oracles

    /// @dev Number of value fields of a report.
    function _fieldCount() internal pure virtual returns (uint8);

    /// @dev The EIP-712 typehash of the report type: `Name(uint32 zone,uint64 round,uint64 observedAt,<fields>)`.
    function _reportTypehash() internal pure virtual returns (bytes32);

    /// @dev Hard limits of `field` (< `_fieldCount()`): within the range of the field's type in the report type
    /// string and in the typed getters, and within int120. Configured bounds can never leave them, so every
    /// stored value fits its type.
    function _fieldLimits(uint8 field) internal pure virtual returns (int256 min, int256 max);

    /// @dev Called at the end of every accepted report (after `ReportAccepted`).
    // solhint-disable-next-line no-empty-blocks
    function _afterReport(uint32 zone, uint64 observedAt, int256[] memory values) internal virtual {}

    /// @dev Called whenever the heartbeat is set, the constructor included.
    // solhint-disable-next-line no-empty-blocks
    function _afterHeartbeat(uint32 heartbeatSeconds) internal virtual {}

    /// @dev The zone registry.
    function _zoneRegistry() internal view returns (IGridManagement) {
        return _gridManagement;
    }

    /// @dev A stored field value (zero before the first report).
    function _value(uint32 zone, uint8 field) internal view returns (int256) {
        return _values[zone][field];
    }

    /// @dev Round, report time, age and freshness of a zone's latest report.
    function _status(uint32 zone) internal view returns (uint64 round, uint64 observedAt, uint64 age, bool fresh) {
        ReportHeader memory header = _reports[zone];
        (round, observedAt) = (header.round, header.observedAt);
        age = _age(observedAt);
        fresh = round != 0 && age <= _heartbeatSeconds;
    }

    // ─────────────────────────────────────────────────────────────── internal

    function _verifyObservations(uint32 zone, uint64 round, Observation[] calldata observations)
        private
        view
        returns (int256[][] memory columns, int256[] memory times, address[] memory signers)
    {
        uint256 count = observations.length;
        uint8 quorum_ = _quorum;
        require(count >= quorum_, QuorumOracleTooFewObservations(count, quorum_));
        require(count <= MAX_OBSERVATIONS, QuorumOracleTooManyObservations(count, MAX_OBSERVATIONS));

        uint8 fields = _fieldCount();
        columns = new int256[][](fields);
        for (uint256 field; field < fields; ++field) {
            columns[field] = new int256[](count);
        }
        times = new int256[](count);
        signers = new address[](count);

        address previous;
        for (uint256 i; i < count; ++i) {
            Observation calldata observation = observations[i];
            address signer = observation.signer;
            require(signer > previous, QuorumOracleSignersNotAscending(i, signer, previous));
            _verifyObservation(zone, round, observation);
            for (uint256 field; field < fields; ++field) {
                columns[field][i] = observation.values[field];
            }
            times[i] = int256(uint256(observation.observedAt));
            signers[i] = signer;
            previous = signer;
        }
    }

    /// @dev Everything about one observation but its place in the list.
    function _verifyObservation(uint32 zone, uint64 round, Observation calldata observation) private view {
        address signer = observation.signer;
        uint64 observedAt = observation.observedAt;
        uint256 count = observation.values.length;
        require(count == _fieldCount(), QuorumOracleWrongFieldCount(signer, count, _fieldCount()));

        uint64 latestAllowed = uint64(block.timestamp) + MAX_FUTURE_SKEW;
        require(observedAt <= latestAllowed, QuorumOracleObservationInFuture(signer, observedAt, latestAllowed));
        uint64 age = _age(observedAt);
        uint32 heartbeatSeconds = _heartbeatSeconds;
        require(age <= heartbeatSeconds, QuorumOracleObservationTooOld(signer, observedAt, age, heartbeatSeconds));

        (bool isOperator,) = IAccessManager(authority()).hasRole(Roles.ORACLE_OPERATOR, signer);
        require(isOperator, QuorumOracleNotOperator(signer));

        bytes32 digest = _hashTypedDataV4(_structHash(zone, round, observedAt, observation.values));
        require(
            SignatureChecker.isValidSignatureNowCalldata(signer, digest, observation.signature),
            QuorumOracleInvalidSignature(signer)
        );
    }

    /// @dev Bounds, then the deviation guard (active only with a fresh, non-zero previous value).
    function _checkValue(uint32 zone, uint8 field, int256 value, int256 previous, bool previousFresh) private view {
        PackedFieldConfig memory config = _fieldConfigs[field];
        (int256 min, int256 max, uint16 maxDeviationBps) = (config.min, config.max, config.maxDeviationBps);
        require(value >= min && value <= max, QuorumOracleOutOfBounds(zone, field, value, min, max));
        if (maxDeviationBps == 0 || !previousFresh || previous == 0) return;

        uint256 delta;
        unchecked {
            // Two's-complement wrap-around yields the exact distance, which is below 2**256.
            delta = value >= previous ? uint256(value) - uint256(previous) : uint256(previous) - uint256(value);
        }
        // delta * 10000 <= |previous| * bps, without overflow.
        require(
            delta <= Math.mulDiv(SignedMath.abs(previous), maxDeviationBps, _BPS),
            QuorumOracleDeviationTooHigh(zone, field, previous, value, maxDeviationBps)
        );
    }

    /// @dev `keccak256(abi.encode(typehash, zone, round, observedAt, values...))`: every argument is one word,
    /// and a packed int256 array is its words back to back.
    function _structHash(uint32 zone, uint64 round, uint64 observedAt, int256[] calldata values)
        private
        pure
        returns (bytes32)
    {
        return keccak256(
            abi.encodePacked(_reportTypehash(), uint256(zone), uint256(round), uint256(observedAt), values)
        );
    }

    /// @dev `sorted[n / 2]` (upper median for even n) by insertion sort, in place; n ≤ MAX_OBSERVATIONS.
    function _median(int256[] memory list) private pure returns (int256) {
        uint256 n = list.length;
        unchecked {
            for (uint256 i = 1; i < n; ++i) {
                int256 key = list[i];
                uint256 j = i;
                while (j != 0 && list[j - 1] > key) {
                    list[j] = list[j - 1];
                    --j;
                }
                list[j] = key;
            }
        }
        return list[n / 2];
    }

    function _age(uint64 observedAt) private view returns (uint64) {
        return block.timestamp > observedAt ? uint64(block.timestamp - observedAt) : 0;
    }

    function _requireField(uint8 field) private pure {
        require(field < _fieldCount(), QuorumOracleUnknownField(field, _fieldCount()));
    }

    function _setQuorum(uint8 quorum_) private {
        require(quorum_ != 0 && quorum_ <= MAX_OBSERVATIONS, QuorumOracleInvalidQuorum(quorum_));
        _quorum = quorum_;
        emit QuorumUpdated(quorum_);
    }

    function _setHeartbeat(uint32 heartbeatSeconds) private {
        require(heartbeatSeconds != 0, QuorumOracleInvalidHeartbeat(heartbeatSeconds));
        _heartbeatSeconds = heartbeatSeconds;
        emit HeartbeatUpdated(heartbeatSeconds);
        _afterHeartbeat(heartbeatSeconds);
    }

    function _setFieldConfig(uint8 field, FieldConfig memory config) private {
        _requireField(field);
        (int256 hardMin, int256 hardMax) = _fieldLimits(field);
        require(
            hardMin <= config.min && config.min <= config.max && config.max <= hardMax
                && config.maxDeviationBps <= _BPS,
            QuorumOracleInvalidFieldConfig(field, config.min, config.max, config.maxDeviationBps)
        );
        // SafeCast only guards a future oracle whose hard limits would not fit the packed slot.
        _fieldConfigs[field] =
            PackedFieldConfig(SafeCast.toInt120(config.min), SafeCast.toInt120(config.max), config.maxDeviationBps);
        emit FieldConfigUpdated(field, config.min, config.max, config.maxDeviationBps);
    }
}
