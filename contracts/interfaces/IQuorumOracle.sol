// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC5267} from "@openzeppelin/contracts/interfaces/IERC5267.sol";

/// @title IQuorumOracle
/// @notice Per-zone oracle reports accepted only with k-of-n signatures of distinct ORACLE_OPERATOR role
/// holders. Each operator signs an EIP-712 observation `{zone, round, observedAt, <fields>}` of the concrete
/// oracle's report type; anyone may relay a set of observations with `submitReport`. The stored value of
/// every field is the median of the relayed observations, the report time the median `observedAt`.
/// @dev Rules a report must pass, in order:
/// - the zone exists in GridManagement and `round` is greater than the zone's last round (the first is ≥ 1);
/// - quorum ≤ observations ≤ MAX_OBSERVATIONS, ordered by strictly ascending signer address (distinct signers);
/// - per observation: exactly `fieldCount()` values; `observedAt` at most MAX_FUTURE_SKEW seconds ahead of the
///   block and at most `heartbeat()` seconds behind it; the signer holds ORACLE_OPERATOR in the AccessManager
///   now (grant delay elapsed); the signature is valid for the signer (ECDSA, or ERC-1271 for a contract);
/// - the median `observedAt` is later than the zone's previous report;
/// - per field: the median lies in the field's configured [min, max]; a field with `maxDeviationBps > 0`
///   moves at most that fraction of the previous value, but only while the previous report is fresh
///   (age ≤ heartbeat) and non-zero: a stale previous value never blocks recovery, and the relative move
///   away from zero is undefined.
/// Median: observations are sorted and `sorted[n / 2]` is taken, i.e. the upper median for an even count,
/// so the result is always one of the signed values (never an average nobody signed).
/// Every field is one 32-byte EIP-712 word; the concrete oracle's hard limits keep every accepted value inside
/// the Solidity type named in its EIP-712 type string, so its typed encoding equals the int256 word.
interface IQuorumOracle is IERC5267 {
    // ─────────────────────────────────────────────────────────────── types

    /// @notice One operator's signed observation of a zone for a round.
    /// @param signer The ORACLE_OPERATOR that signed (an EOA, or a contract answering ERC-1271).
    /// @param observedAt When the operator observed the values, unix seconds.
    /// @param values One word per field, in the order of the concrete oracle's report type.
    /// @param signature The signer's signature over the EIP-712 digest (see `reportDigest`).
    struct Observation {
        address signer;
        uint64 observedAt;
        int256[] values;
        bytes signature;
    }

    /// @notice Governance bounds of one field. `maxDeviationBps == 0` disables the deviation guard.
    struct FieldConfig {
        int256 min;
        int256 max;
        uint16 maxDeviationBps;
    }

    /// @notice Round and timing of a zone's latest accepted report; all zero before the first report.
    /// @dev Packed into one storage slot.
    struct ReportHeader {
        uint64 round;
        uint64 observedAt;
        uint64 postedAt;
    }

    // ─────────────────────────────────────────────────────────────── errors

    /// @notice The authority or the GridManagement address is zero.
    error QuorumOracleZeroAddress();
    /// @notice `zone` does not exist in GridManagement.
    error QuorumOracleUnknownZone(uint32 zone);
    /// @notice `round` is not greater than the zone's last accepted round.
    error QuorumOracleStaleRound(uint32 zone, uint64 round, uint64 lastRound);
    /// @notice The median observation time is not later than the zone's previous report.
    error QuorumOracleOutdatedReport(uint32 zone, uint64 observedAt, uint64 lastObservedAt);
    /// @notice Fewer observations than the quorum.
    error QuorumOracleTooFewObservations(uint256 count, uint8 quorum);
    /// @notice More observations than MAX_OBSERVATIONS.
    error QuorumOracleTooManyObservations(uint256 count, uint256 maxObservations);
    /// @notice Observation `index` is not signed by an address above the previous one (duplicate or unordered).
    error QuorumOracleSignersNotAscending(uint256 index, address signer, address previousSigner);
    /// @notice An observation does not carry exactly one value per field.
    error QuorumOracleWrongFieldCount(address signer, uint256 count, uint256 expected);
    /// @notice An observation is timed later than the block time plus MAX_FUTURE_SKEW.
    error QuorumOracleObservationInFuture(address signer, uint64 observedAt, uint64 latestAllowed);
    /// @notice An observation is older than the heartbeat.
    error QuorumOracleObservationTooOld(address signer, uint64 observedAt, uint64 age, uint32 heartbeat);
    /// @notice The signer does not (yet) hold ORACLE_OPERATOR.
    error QuorumOracleNotOperator(address signer);
    /// @notice The signature does not match the signer and the observation (tampered, other domain, other key).
    error QuorumOracleInvalidSignature(address signer);
    /// @notice An aggregated value lies outside its field's configured bounds.
    error QuorumOracleOutOfBounds(uint32 zone, uint8 field, int256 value, int256 min, int256 max);
    /// @notice An aggregated value moved further from the fresh previous value than the field allows.
    error QuorumOracleDeviationTooHigh(
        uint32 zone, uint8 field, int256 previous, int256 value, uint16 maxDeviationBps
    );
    /// @notice `zone` has no accepted report yet.
    error QuorumOracleNoReport(uint32 zone);
    /// @notice The zone's latest report is older than the heartbeat.
    error QuorumOracleStale(uint32 zone, uint64 age, uint32 heartbeat);
    /// @notice A quorum outside [1, MAX_OBSERVATIONS].
    error QuorumOracleInvalidQuorum(uint8 quorum);
    /// @notice A heartbeat of zero seconds.
    error QuorumOracleInvalidHeartbeat(uint32 heartbeat);
    /// @notice `field` is not below the oracle's field count.
    error QuorumOracleUnknownField(uint8 field, uint8 fieldCount);
    /// @notice Field bounds must satisfy hardMin ≤ min ≤ max ≤ hardMax (see `fieldLimits`) and bps ≤ 10000.
    error QuorumOracleInvalidFieldConfig(uint8 field, int256 min, int256 max, uint16 maxDeviationBps);
    /// @notice The constructor needs exactly one FieldConfig per field.
    error QuorumOracleFieldConfigCount(uint256 count, uint256 expected);

    // ─────────────────────────────────────────────────────────────── events

    /// @notice A report was accepted and is now the zone's latest. `values` are the medians, one per field.
    event ReportAccepted(
        uint32 indexed zone, uint64 indexed round, uint64 observedAt, int256[] values, address[] signers
    );
    /// @notice The number of distinct operator signatures a report needs changed.
    event QuorumUpdated(uint8 quorum);
    /// @notice The maximum age of fresh data changed.
    event HeartbeatUpdated(uint32 heartbeatSeconds);
    /// @notice A field's bounds or deviation guard changed.
    event FieldConfigUpdated(uint8 indexed field, int256 min, int256 max, uint16 maxDeviationBps);

    // ─────────────────────────────────────────────────────────────── reporting (anyone relays)

    /// @notice Accepts a report for `zone` and `round` from at least `quorum()` operator observations.
    /// @dev Reverts with the first rule broken (see the contract documentation); emits `ReportAccepted`.
    function submitReport(uint32 zone, uint64 round, Observation[] calldata observations) external;

    // ─────────────────────────────────────────────────────────────── governance (restricted: ADMIN by default)

    /// @notice Sets how many distinct operator observations a report needs, 1..MAX_OBSERVATIONS.
    /// @dev The AccessManager cannot enumerate role members: keep the quorum ≤ the number of operators.
    function setQuorum(uint8 quorum) external;

    /// @notice Sets the maximum age, in seconds, of an observation at submission and of fresh data.
    function setHeartbeat(uint32 heartbeatSeconds) external;

    /// @notice Sets a field's bounds and deviation guard. Reports already stored are not re-checked.
    function setFieldConfig(uint8 field, int256 min, int256 max, uint16 maxDeviationBps) external;

    // ─────────────────────────────────────────────────────────────── views

    /// @notice The most observations one report may carry; bounds every loop of `submitReport`.
    function MAX_OBSERVATIONS() external view returns (uint8);

    /// @notice How far, in seconds, an observation may be timed ahead of the block (clock skew).
    function MAX_FUTURE_SKEW() external view returns (uint64);

    /// @notice The EIP-712 typehash of the concrete oracle's report type.
    function REPORT_TYPEHASH() external view returns (bytes32);

    /// @notice The zone registry whose `zoneExists` gates reports.
    function gridManagement() external view returns (address);

    /// @notice Distinct operator observations a report needs.
    function quorum() external view returns (uint8);

    /// @notice Maximum age of fresh data, in seconds.
    function heartbeat() external view returns (uint32);

    /// @notice Number of value fields of a report.
    function fieldCount() external view returns (uint8);

    /// @notice A field's governance bounds and deviation guard.
    function fieldConfig(uint8 field) external view returns (FieldConfig memory);

    /// @notice The hard limits of a field, fixed by its type: configured bounds must lie within them.
    function fieldLimits(uint8 field) external view returns (int256 min, int256 max);

    /// @notice The EIP-712 digest an operator signs for an observation; `values` must hold `fieldCount()` words.
    /// @dev For off-chain tooling and ERC-1271 reporters. Equals `_hashTypedDataV4(keccak256(abi.encode(
    /// REPORT_TYPEHASH, zone, round, observedAt, values[0], ..., values[n-1])))`.
    function reportDigest(uint32 zone, uint64 round, uint64 observedAt, int256[] calldata values)
        external
        view
        returns (bytes32);

    /// @notice Round, observation time and posting time of a zone's latest report (all zero before the first).
    function reportHeader(uint32 zone) external view returns (ReportHeader memory);

    /// @notice A zone's latest report. Never reverts: before the first report `round` and `values` are zero
    /// and `stale` is true. `age = block.timestamp - observedAt`, 0 while `observedAt` is ahead of the block.
    /// @dev Views do not consult GridManagement: an unknown zone reads like a zone without reports.
    function latestReport(uint32 zone)
        external
        view
        returns (uint64 round, uint64 observedAt, uint64 age, bool stale, int256[] memory values);

    /// @notice A field's latest value, whether fresh or not; `observedAt == 0` means no report yet.
    function latestValue(uint32 zone, uint8 field)
        external
        view
        returns (int256 value, uint64 observedAt, uint64 age);

    /// @notice A field's latest value, reverting with `QuorumOracleNoReport` or `QuorumOracleStale` unless the
    /// report's age is at most the heartbeat. Markets call this wherever freshness matters.
    function freshValue(uint32 zone, uint8 field) external view returns (int256 value, uint64 observedAt);
}
