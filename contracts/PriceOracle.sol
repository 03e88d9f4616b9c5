// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IGridManagement} from "./interfaces/IGridManagement.sol";
import {IReferencePriceHook} from "./interfaces/IMarketHooks.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {IQuorumOracle} from "./interfaces/IQuorumOracle.sol";
import {QuorumOracle} from "./QuorumOracle.sol";

/// @title PriceOracle
/// @notice Per-zone reference price, supply and demand, k-of-n signed by oracle operators.
/// @dev Once `setMarket` (ADMIN) wired EnergyTrading, every accepted report pushes its price and observation
/// time there and every heartbeat change the heartbeat, in the same transaction (`IReferencePriceHook`).
contract PriceOracle is QuorumOracle, IPriceOracle {
    // ─────────────────────────────────────────────────────────────── constants

    /// @inheritdoc IQuorumOracle
    bytes32 public constant REPORT_TYPEHASH = keccak256(
        "PriceReport(uint32 zone,uint64 round,uint64 observedAt,uint128 pricePerKWh,uint64 supplyW,uint64 demandW)"
    );
    uint8 private constant _FIELD_COUNT = 3;

    IReferencePriceHook private _market;

    // ─────────────────────────────────────────────────────────────── constructor

    /// @param initialAuthority The GridX AccessManager.
    /// @param gridManagement_ The zone registry.
    /// @param quorum_ Distinct operator observations a report needs.
    /// @param heartbeatSeconds Maximum age of fresh data.
    /// @param fieldConfigs Bounds and deviation guards of pricePerKWh, supplyW, demandW.
    constructor(
        address initialAuthority,
        IGridManagement gridManagement_,
        uint8 quorum_,
        uint32 heartbeatSeconds,
        FieldConfig[] memory fieldConfigs
    ) QuorumOracle("GridX PriceOracle", initialAuthority, gridManagement_, quorum_, heartbeatSeconds, fieldConfigs) {}

    // ─────────────────────────────────────────────────────────────── governance

    /// @inheritdoc IPriceOracle
    function setMarket(address market_) external restricted {
        require(market_ != address(0), QuorumOracleZeroAddress());
        address current = address(_market);
        require(current == address(0), PriceOracleMarketAlreadySet(current));
        _market = IReferencePriceHook(market_);
        emit MarketSet(market_);
        _afterHeartbeat(heartbeat());
        uint32 count = _zoneRegistry().zoneCount();
        for (uint32 zone = 1; zone <= count; ++zone) {
            (uint128 price, uint64 observedAt,) = referencePrice(zone);
            if (observedAt != 0) IReferencePriceHook(market_).onReferencePrice(zone, price, observedAt);
        }
    }

    // ─────────────────────────────────────────────────────────────── views

    /// @inheritdoc IPriceOracle
    function market() external view returns (address) {
        return address(_market);
    }

    /// @inheritdoc IPriceOracle
    function referencePrice(uint32 zone) public view returns (uint128 pricePerKWh, uint64 observedAt, bool fresh) {
        (, observedAt,, fresh) = _status(zone);
        // Cannot truncate: bounds never leave the hard limits [0, 2**119 - 1].
        pricePerKWh = uint128(uint256(_value(zone, uint8(Field.PricePerKWh))));
    }

    // ─────────────────────────────────────────────────────────────── hooks

    function _afterReport(uint32 zone, uint64 observedAt, int256[] memory values) internal override {
        IReferencePriceHook market_ = _market;
        // Cannot truncate: bounds never leave the hard limits [0, 2**119 - 1].
        if (address(market_) != address(0)) {
            market_.onReferencePrice(zone, uint128(uint256(values[uint8(Field.PricePerKWh)])), observedAt);
        }
    }

    function _afterHeartbeat(uint32 heartbeatSeconds) internal override {
        IReferencePriceHook market_ = _market;
        if (address(market_) != address(0)) market_.onReferenceHeartbeat(heartbeatSeconds);
    }

    function _fieldCount() internal pure override returns (uint8) {
        return _FIELD_COUNT;
    }

    function _reportTypehash() internal pure override returns (bytes32) {
        return REPORT_TYPEHASH;
    }

    function _fieldLimits(uint8 field) internal pure override returns (int256 min, int256 max) {
        // 2**119 - 1 (6.6e35 base units per kWh) keeps the bound in the packed config slot; the value is
        // still a uint128 in the report type and the getter.
        if (field == uint8(Field.PricePerKWh)) return (0, type(int120).max);
        return (0, type(int64).max); // SupplyW, DemandW
    }
}
