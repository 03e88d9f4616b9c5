// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice A meter's hot state in one storage word, read once and written once per reading.
/// Layout, least significant bits first:
/// | seq 32 | timestamp 32 | productionWh 48 | consumptionWh 48 | claimableWh 48 | uncoveredWh 48 |
/// @dev A value type rather than a struct: the legacy code generator copies packed structs member by
/// member (one storage access per member); a single word is one SLOAD and one SSTORE by construction.
type MeterCursor is uint256;

using MeterCursorLib for MeterCursor global;

/// @title MeterCursorLib
/// @notice Pure packing and unpacking of `MeterCursor`. Callers keep every field within its width:
/// `seq` and `timestamp` below 2^32, registers and their derived sums below 2^48.
library MeterCursorLib {
    uint256 private constant MASK_32 = type(uint32).max;
    uint256 private constant MASK_48 = type(uint48).max;

    /// @notice Packs the six fields into one word.
    function pack(
        uint64 seq_,
        uint64 timestamp_,
        uint64 productionWh_,
        uint64 consumptionWh_,
        uint64 claimableWh_,
        uint64 uncoveredWh_
    ) internal pure returns (MeterCursor) {
        return MeterCursor.wrap(
            (uint256(seq_) & MASK_32) | ((uint256(timestamp_) & MASK_32) << 32)
                | ((uint256(productionWh_) & MASK_48) << 64) | ((uint256(consumptionWh_) & MASK_48) << 112)
                | ((uint256(claimableWh_) & MASK_48) << 160) | ((uint256(uncoveredWh_) & MASK_48) << 208)
        );
    }

    /// @notice Sequence number of the latest accepted reading (0 before the first).
    function seq(MeterCursor c) internal pure returns (uint64) {
        return uint64(MeterCursor.unwrap(c) & MASK_32);
    }

    /// @notice Timestamp of the latest accepted reading (0 before the first).
    function timestamp(MeterCursor c) internal pure returns (uint64) {
        return uint64((MeterCursor.unwrap(c) >> 32) & MASK_32);
    }

    /// @notice Cumulative production register of the latest accepted reading, Wh.
    function productionWh(MeterCursor c) internal pure returns (uint64) {
        return uint64((MeterCursor.unwrap(c) >> 64) & MASK_48);
    }

    /// @notice Cumulative consumption register of the latest accepted reading, Wh.
    function consumptionWh(MeterCursor c) internal pure returns (uint64) {
        return uint64((MeterCursor.unwrap(c) >> 112) & MASK_48);
    }

    /// @notice Credits earned and not yet claimed, Wh.
    function claimableWh(MeterCursor c) internal pure returns (uint64) {
        return uint64((MeterCursor.unwrap(c) >> 160) & MASK_48);
    }

    /// @notice Consumption no redeemed credit has covered yet, Wh.
    function uncoveredWh(MeterCursor c) internal pure returns (uint64) {
        return uint64(MeterCursor.unwrap(c) >> 208);
    }

    /// @notice `c` with `claimableWh` replaced.
    function withClaimable(MeterCursor c, uint64 claimableWh_) internal pure returns (MeterCursor) {
        return MeterCursor.wrap(
            (MeterCursor.unwrap(c) & ~(MASK_48 << 160)) | ((uint256(claimableWh_) & MASK_48) << 160)
        );
    }

    /// @notice `c` with `uncoveredWh` replaced.
    function withUncovered(MeterCursor c, uint64 uncoveredWh_) internal pure returns (MeterCursor) {
        return MeterCursor.wrap(
            (MeterCursor.unwrap(c) & ~(MASK_48 << 208)) | ((uint256(uncoveredWh_) & MASK_48) << 208)
        );
    }
}
