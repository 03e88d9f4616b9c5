// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IGridManagement} from "./interfaces/IGridManagement.sol";
import {IZoneRulesHook} from "./interfaces/IMarketHooks.sol";

/// @title GridManagement
/// @notice Grid zones, their fees, capacity, emission factor, treasury and compliance limits; per-zone
/// halts by the zone's grid operators and the global emergency pause.
/// @dev Permissions come from the AccessManager: setters and `unpause` are ADMIN (governance),
/// `haltZone`/`resumeZone` are GRID_OPERATOR and additionally require the caller to be an operator of
/// that zone, `pause` is GUARDIAN.
/// The market keeps a copy of each zone's trading rules (flags, fees, limits) and of the pause: once
/// `setMarket` wired it, every function that changes one of them pushes the new value to it in the same
/// transaction (`IZoneRulesHook`), so orders never see a stale halt.
contract GridManagement is IGridManagement, AccessManaged, Pausable {
    // ─────────────────────────────────────────────────────────────── constants

    /// @inheritdoc IGridManagement
    uint16 public constant MAX_GRID_FEE_BPS = 1_000;
    /// @notice Shortest allowed trading interval, in seconds.
    uint32 public constant MIN_TRADING_INTERVAL = 60;
    /// @notice Longest allowed trading interval, in seconds.
    uint32 public constant MAX_TRADING_INTERVAL = 1 days;

    // ─────────────────────────────────────────────────────────────── storage

    uint32 private _zoneCount;
    uint32 private _tradingInterval;
    IZoneRulesHook private _market;
    mapping(uint32 zone => Zone) private _zones;
    mapping(uint32 zone => mapping(address operator => bool allowed)) private _zoneOperators;

    // ─────────────────────────────────────────────────────────────── constructor

    /// @param authority The AccessManager.
    /// @param tradingIntervalSeconds Length of a trading interval (capacity is per interval).
    constructor(address authority, uint32 tradingIntervalSeconds) AccessManaged(authority) {
        _setTradingInterval(tradingIntervalSeconds);
    }

    // ─────────────────────────────────────────────────────────────── modifiers

    modifier onlyExistingZone(uint32 zone) {
        require(zoneExists(zone), GridManagementUnknownZone(zone));
        _;
    }

    // ─────────────────────────────────────────────────────────────── governance

    /// @inheritdoc IGridManagement
    function createZone(ZoneConfig calldata config) external restricted returns (uint32 zone) {
        require(bytes(config.name).length != 0, GridManagementEmptyName());
        zone = ++_zoneCount;
        Zone storage z = _zones[zone];
        z.name = config.name;
        z.active = true;
        emit ZoneCreated(zone, config.name, config.treasury);
        _setTreasury(zone, config.treasury);
        _setEmissionFactor(zone, config.emissionFactor_gCO2ePerKWh);
        _setCapacity(zone, config.capacityWhPerInterval);
        _setFeeSchedule(zone, config.fees);
        _setComplianceLimits(zone, config.limits);
        _pushRules(zone);
    }

    /// @inheritdoc IGridManagement
    function setZoneActive(uint32 zone, bool active) external restricted onlyExistingZone(zone) {
        _zones[zone].active = active;
        emit ZoneActiveSet(zone, active);
        _pushRules(zone);
    }

    /// @inheritdoc IGridManagement
    function setFeeSchedule(uint32 zone, FeeSchedule calldata fees) external restricted onlyExistingZone(zone) {
        _setFeeSchedule(zone, fees);
        _pushRules(zone);
    }

    /// @inheritdoc IGridManagement
    function setCapacity(uint32 zone, uint64 capacityWhPerInterval) external restricted onlyExistingZone(zone) {
        _setCapacity(zone, capacityWhPerInterval);
    }

    /// @inheritdoc IGridManagement
    function setEmissionFactor(uint32 zone, uint32 emissionFactor_gCO2ePerKWh)
        external
        restricted
        onlyExistingZone(zone)
    {
        _setEmissionFactor(zone, emissionFactor_gCO2ePerKWh);
    }

    /// @inheritdoc IGridManagement
    function setTreasury(uint32 zone, address treasury) external restricted onlyExistingZone(zone) {
        _setTreasury(zone, treasury);
    }

    /// @inheritdoc IGridManagement
    function setComplianceLimits(uint32 zone, ComplianceLimits calldata limits)
        external
        restricted
        onlyExistingZone(zone)
    {
        _setComplianceLimits(zone, limits);
        _pushRules(zone);
    }

    /// @inheritdoc IGridManagement
    function setTradingInterval(uint32 intervalSeconds) external restricted {
        _setTradingInterval(intervalSeconds);
    }

    /// @inheritdoc IGridManagement
    function setZoneOperator(uint32 zone, address operator, bool allowed) external restricted onlyExistingZone(zone) {
        require(operator != address(0), GridManagementZeroAddress());
        _zoneOperators[zone][operator] = allowed;
        emit ZoneOperatorSet(zone, operator, allowed);
    }

    /// @inheritdoc IGridManagement
    function unpause() external restricted {
        _unpause();
        _pushPause();
    }

    /// @inheritdoc IGridManagement
    function setMarket(address market_) external restricted {
        require(market_ != address(0), GridManagementZeroAddress());
        address current = address(_market);
        require(current == address(0), GridManagementMarketAlreadySet(current));
        _market = IZoneRulesHook(market_);
        emit MarketSet(market_);
        _pushPause();
        uint32 count = _zoneCount;
        for (uint32 zone = 1; zone <= count; ++zone) {
            _pushRules(zone);
        }
    }

    // ─────────────────────────────────────────────────────────────── grid operators and guardians

    /// @inheritdoc IGridManagement
    function haltZone(uint32 zone, string calldata reason) external restricted onlyExistingZone(zone) {
        require(_zoneOperators[zone][msg.sender], GridManagementNotZoneOperator(zone, msg.sender));
        require(bytes(reason).length != 0, GridManagementEmptyReason());
        Zone storage z = _zones[zone];
        require(!z.halted, GridManagementZoneAlreadyHalted(zone));
        z.halted = true;
        emit ZoneHalted(zone, msg.sender, reason);
        _pushRules(zone);
    }

    /// @inheritdoc IGridManagement
    function resumeZone(uint32 zone) external restricted onlyExistingZone(zone) {
        require(_zoneOperators[zone][msg.sender], GridManagementNotZoneOperator(zone, msg.sender));
        Zone storage z = _zones[zone];
        require(z.halted, GridManagementZoneNotHalted(zone));
        z.halted = false;
        emit ZoneResumed(zone, msg.sender);
        _pushRules(zone);
    }

    /// @inheritdoc IGridManagement
    function pause() external restricted {
        _pause();
        _pushPause();
    }

    // ─────────────────────────────────────────────────────────────── views

    /// @inheritdoc IGridManagement
    function zoneCount() external view returns (uint32) {
        return _zoneCount;
    }

    /// @inheritdoc IGridManagement
    function zoneExists(uint32 zone) public view returns (bool) {
        return zone != 0 && zone <= _zoneCount;
    }

    /// @inheritdoc IGridManagement
    function getZone(uint32 zone) external view onlyExistingZone(zone) returns (Zone memory) {
        return _zones[zone];
    }

    /// @inheritdoc IGridManagement
    function isZoneOperator(uint32 zone, address account) external view returns (bool) {
        return _zoneOperators[zone][account];
    }

    /// @inheritdoc IGridManagement
    function isTradingAllowed(uint32 zone) external view returns (bool) {
        Zone storage z = _zones[zone];
        return zoneExists(zone) && z.active && !z.halted && !paused();
    }

    /// @inheritdoc IGridManagement
    function tradingRules(uint32 zone) external view returns (bool allowed, ComplianceLimits memory limits) {
        Zone storage z = _zones[zone];
        // `active` is only ever set on a created zone, so it doubles as the existence check.
        allowed = z.active && !z.halted && !paused();
        limits = ComplianceLimits({
            minOrderWh: z.minOrderWh,
            maxOrderWh: z.maxOrderWh,
            maxDailyTradedWhPerAccount: z.maxDailyTradedWhPerAccount
        });
    }

    /// @inheritdoc IGridManagement
    function zoneTradingRules(uint32 zone) public view returns (TradingRules memory rules) {
        Zone storage z = _zones[zone];
        rules = TradingRules({
            active: z.active,
            halted: z.halted,
            peakFeeBps: z.peakFeeBps,
            offPeakFeeBps: z.offPeakFeeBps,
            peakStartHour: z.peakStartHour,
            peakEndHour: z.peakEndHour,
            minOrderWh: z.minOrderWh,
            maxOrderWh: z.maxOrderWh,
            maxDailyTradedWhPerAccount: z.maxDailyTradedWhPerAccount
        });
    }

    /// @inheritdoc IGridManagement
    function market() external view returns (address) {
        return address(_market);
    }

    /// @inheritdoc IGridManagement
    function isPeak(uint32 zone, uint64 timestamp) public view onlyExistingZone(zone) returns (bool) {
        Zone storage z = _zones[zone];
        uint256 hour = (timestamp % 1 days) / 1 hours;
        uint256 start = z.peakStartHour;
        uint256 end = z.peakEndHour;
        if (start <= end) return hour >= start && hour < end;
        return hour >= start || hour < end; // window wraps past midnight
    }

    /// @inheritdoc IGridManagement
    function gridFeeBps(uint32 zone, uint64 timestamp) external view returns (uint16) {
        return isPeak(zone, timestamp) ? _zones[zone].peakFeeBps : _zones[zone].offPeakFeeBps;
    }

    /// @inheritdoc IGridManagement
    function tradingInterval() external view returns (uint32) {
        return _tradingInterval;
    }

    /// @inheritdoc IGridManagement
    function paused() public view override(IGridManagement, Pausable) returns (bool) {
        return super.paused();
    }

    // ─────────────────────────────────────────────────────────────── market copy

    function _pushRules(uint32 zone) private {
        IZoneRulesHook market_ = _market;
        if (address(market_) != address(0)) market_.onZoneRulesChanged(zone, zoneTradingRules(zone));
    }

    function _pushPause() private {
        IZoneRulesHook market_ = _market;
        if (address(market_) != address(0)) market_.onPauseChanged(paused());
    }

    // ─────────────────────────────────────────────────────────────── internal setters

    function _setFeeSchedule(uint32 zone, FeeSchedule calldata fees) private {
        require(fees.peakFeeBps <= MAX_GRID_FEE_BPS, GridManagementFeeTooHigh(fees.peakFeeBps, MAX_GRID_FEE_BPS));
        require(
            fees.offPeakFeeBps <= MAX_GRID_FEE_BPS, GridManagementFeeTooHigh(fees.offPeakFeeBps, MAX_GRID_FEE_BPS)
        );
        require(fees.peakStartHour < 24, GridManagementInvalidHour(fees.peakStartHour));
        require(fees.peakEndHour < 24, GridManagementInvalidHour(fees.peakEndHour));
        Zone storage z = _zones[zone];
        z.peakFeeBps = fees.peakFeeBps;
        z.offPeakFeeBps = fees.offPeakFeeBps;
        z.peakStartHour = fees.peakStartHour;
        z.peakEndHour = fees.peakEndHour;
        emit FeeScheduleUpdated(zone, fees.peakFeeBps, fees.offPeakFeeBps, fees.peakStartHour, fees.peakEndHour);
    }

    function _setCapacity(uint32 zone, uint64 capacityWhPerInterval) private {
        require(capacityWhPerInterval != 0, GridManagementZeroCapacity(zone));
        _zones[zone].capacityWhPerInterval = capacityWhPerInterval;
        emit CapacityUpdated(zone, capacityWhPerInterval);
    }

    function _setEmissionFactor(uint32 zone, uint32 emissionFactor_gCO2ePerKWh) private {
        _zones[zone].emissionFactor_gCO2ePerKWh = emissionFactor_gCO2ePerKWh;
        emit EmissionFactorUpdated(zone, emissionFactor_gCO2ePerKWh);
    }

    function _setTreasury(uint32 zone, address treasury) private {
        require(treasury != address(0), GridManagementZeroAddress());
        _zones[zone].treasury = treasury;
        emit TreasuryUpdated(zone, treasury);
    }

    function _setComplianceLimits(uint32 zone, ComplianceLimits calldata limits) private {
        require(
            limits.minOrderWh != 0 && limits.minOrderWh <= limits.maxOrderWh && limits.maxDailyTradedWhPerAccount != 0,
            GridManagementInvalidLimits(limits.minOrderWh, limits.maxOrderWh, limits.maxDailyTradedWhPerAccount)
        );
        Zone storage z = _zones[zone];
        z.minOrderWh = limits.minOrderWh;
        z.maxOrderWh = limits.maxOrderWh;
        z.maxDailyTradedWhPerAccount = limits.maxDailyTradedWhPerAccount;
        emit ComplianceLimitsUpdated(zone, limits.minOrderWh, limits.maxOrderWh, limits.maxDailyTradedWhPerAccount);
    }

    function _setTradingInterval(uint32 intervalSeconds) private {
        require(
            intervalSeconds >= MIN_TRADING_INTERVAL && intervalSeconds <= MAX_TRADING_INTERVAL,
            GridManagementInvalidTradingInterval(intervalSeconds)
        );
        _tradingInterval = intervalSeconds;
        emit TradingIntervalUpdated(intervalSeconds);
    }
}
