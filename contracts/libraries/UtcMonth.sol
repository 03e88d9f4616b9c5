// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title UtcMonth
/// @notice The UTC calendar month of a timestamp as a `YYYYMM` number (e.g. 202506 for June 2025): the key
/// of monthly statements, readable as-is by people, indexers and spreadsheets, and ordered like time.
/// @dev Howard Hinnant's `civil_from_days` on the unsigned day count since 1970-01-01 (proleptic Gregorian,
/// exact for every uint64 timestamp a chain will see). Pure arithmetic, no loops, no tables.
library UtcMonth {
    /// @notice `YYYYMM` of the UTC calendar month `timestamp` falls in.
    function monthOf(uint256 timestamp) internal pure returns (uint32) {
        unchecked {
            uint256 z = timestamp / 1 days + 719_468; // days since 0000-03-01
            uint256 era = z / 146_097;
            uint256 dayOfEra = z - era * 146_097; // [0, 146096]
            uint256 yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365;
            uint256 dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100); // from March 1
            uint256 shiftedMonth = (5 * dayOfYear + 2) / 153; // 0 = March … 11 = February
            uint256 month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
            uint256 year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
            return uint32(year * 100 + month);
        }
    }
}
