// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IGridManagement} from "./IGridManagement.sol";

/// @title IZoneRulesHook
/// @notice What GridManagement tells the market whenever something the market checks on every order changes:
/// a zone's flags, fees or limits, and the global pause. The market keeps the copy in one storage slot per
/// zone, so an order reads one local slot instead of calling GridManagement. The calls happen in the same
/// transaction as the change, so a halt or pause takes effect at once.
interface IZoneRulesHook {
    /// @notice `zone`'s trading rules are now `rules`. Only GridManagement may call it.
    function onZoneRulesChanged(uint32 zone, IGridManagement.TradingRules calldata rules) external;
    /// @notice The global emergency pause is now `paused`. Only GridManagement may call it.
    function onPauseChanged(bool paused) external;
}

/// @title IReferencePriceHook
/// @notice What PriceOracle tells the market: every accepted price and every heartbeat change, in the same
/// transaction, so the market checks its price bands against a local copy.
interface IReferencePriceHook {
    /// @notice `zone`'s reference price is now `pricePerKWh`, observed at `observedAt`. Only PriceOracle.
    function onReferencePrice(uint32 zone, uint128 pricePerKWh, uint64 observedAt) external;
    /// @notice A reference price is fresh for `heartbeatSeconds` after it was observed. Only PriceOracle.
    function onReferenceHeartbeat(uint32 heartbeatSeconds) external;
}
