// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IGridManagement
/// @notice Grid zones and the rules every market and metering contract reads: grid fees with a
/// peak/off-peak schedule, capacity per trading interval, emission factor, treasury, compliance
/// limits, per-zone halts by the zone's grid operators and the global emergency pause.
/// @dev A halt stops placing and matching orders in a zone; cancel, withdraw and redeem always work.
/// The global pause (GUARDIAN) additionally stops meter readings from minting credits.
interface IGridManagement {
    // ─────────────────────────────────────────────────────────────── types

    /// @notice Grid fee schedule of a zone. Hours are UTC hours of day (0–23). The peak window is
    /// [peakStartHour, peakEndHour) and may wrap past midnight; equal hours mean "no peak window".
    struct FeeSchedule {
        uint16 peakFeeBps;
        uint16 offPeakFeeBps;
        uint8 peakStartHour;
        uint8 peakEndHour;
    }

    /// @notice Compliance limits of a zone, in Wh. `maxDailyTradedWhPerAccount` caps what one
    /// account may trade (bought + sold) in one UTC day.
    struct ComplianceLimits {
        uint64 minOrderWh;
        uint64 maxOrderWh;
        uint64 maxDailyTradedWhPerAccount;
    }

    /// @notice What the market checks on every order, in one slot: whether the zone is active and not halted,
    /// its grid fee schedule and its compliance limits (see `IZoneRulesHook`). All zero for an unknown zone.
    struct TradingRules {
        bool active;
        bool halted;
        uint16 peakFeeBps;
        uint16 offPeakFeeBps;
        uint8 peakStartHour;
        uint8 peakEndHour;
        uint64 minOrderWh;
        uint64 maxOrderWh;
        uint64 maxDailyTradedWhPerAccount;
    }

    /// @notice Everything needed to create a zone.
    struct ZoneConfig {
        string name;
        address treasury;
        uint32 emissionFactor_gCO2ePerKWh;
        uint64 capacityWhPerInterval;
        FeeSchedule fees;
        ComplianceLimits limits;
    }

    /// @notice A zone as stored. Slot 0 packs treasury, emission factor, fees, hours and flags;
    /// slot 1 packs capacity and the compliance limits; the name lives in its own slot.
    struct Zone {
        address treasury;
        uint32 emissionFactor_gCO2ePerKWh;
        uint16 peakFeeBps;
        uint16 offPeakFeeBps;
        uint8 peakStartHour;
        uint8 peakEndHour;
        bool active;
        bool halted;
        uint64 capacityWhPerInterval;
        uint64 minOrderWh;
        uint64 maxOrderWh;
        uint64 maxDailyTradedWhPerAccount;
        string name;
    }

    // ─────────────────────────────────────────────────────────────── errors

    /// @notice `zone` was never created.
    error GridManagementUnknownZone(uint32 zone);
    /// @notice A zone name must not be empty.
    error GridManagementEmptyName();
    /// @notice A treasury or operator must not be the zero address.
    error GridManagementZeroAddress();
    /// @notice A grid fee above the protocol ceiling.
    error GridManagementFeeTooHigh(uint16 feeBps, uint16 maxFeeBps);
    /// @notice An hour of day outside 0–23.
    error GridManagementInvalidHour(uint8 hour);
    /// @notice Capacity per interval must be positive.
    error GridManagementZeroCapacity(uint32 zone);
    /// @notice Compliance limits must satisfy 0 < min ≤ max and a positive daily cap.
    error GridManagementInvalidLimits(uint64 minOrderWh, uint64 maxOrderWh, uint64 maxDailyTradedWhPerAccount);
    /// @notice A trading interval outside [MIN_TRADING_INTERVAL, MAX_TRADING_INTERVAL] seconds.
    error GridManagementInvalidTradingInterval(uint32 intervalSeconds);
    /// @notice The caller is not a grid operator of `zone`.
    error GridManagementNotZoneOperator(uint32 zone, address account);
    /// @notice `zone` is already halted.
    error GridManagementZoneAlreadyHalted(uint32 zone);
    /// @notice `zone` is not halted.
    error GridManagementZoneNotHalted(uint32 zone);
    /// @notice A halt must say why.
    error GridManagementEmptyReason();
    /// @notice The market is wired once.
    error GridManagementMarketAlreadySet(address market);

    // ─────────────────────────────────────────────────────────────── events

    /// @notice A zone was created by governance.
    event ZoneCreated(uint32 indexed zone, string name, address indexed treasury);
    /// @notice A zone was (de)activated by governance. Inactive zones take no new meters or orders.
    event ZoneActiveSet(uint32 indexed zone, bool active);
    /// @notice A zone's grid fee schedule changed.
    event FeeScheduleUpdated(
        uint32 indexed zone, uint16 peakFeeBps, uint16 offPeakFeeBps, uint8 peakStartHour, uint8 peakEndHour
    );
    /// @notice A zone's capacity per trading interval changed.
    event CapacityUpdated(uint32 indexed zone, uint64 capacityWhPerInterval);
    /// @notice A zone's grid emission factor changed.
    event EmissionFactorUpdated(uint32 indexed zone, uint32 emissionFactor_gCO2ePerKWh);
    /// @notice A zone's fee treasury changed.
    event TreasuryUpdated(uint32 indexed zone, address indexed treasury);
    /// @notice A zone's compliance limits changed.
    event ComplianceLimitsUpdated(
        uint32 indexed zone, uint64 minOrderWh, uint64 maxOrderWh, uint64 maxDailyTradedWhPerAccount
    );
    /// @notice The length of a trading interval changed.
    event TradingIntervalUpdated(uint32 intervalSeconds);
    /// @notice `operator` was allowed or disallowed to halt and resume `zone`.
    event ZoneOperatorSet(uint32 indexed zone, address indexed operator, bool allowed);
    /// @notice `zone` was halted by one of its grid operators.
    event ZoneHalted(uint32 indexed zone, address indexed by, string reason);
    /// @notice `zone` was resumed by one of its grid operators.
    event ZoneResumed(uint32 indexed zone, address indexed by);
    /// @notice The market that receives every trading-rules change (`IZoneRulesHook`) was wired.
    event MarketSet(address indexed market);

    // ─────────────────────────────────────────────────────────────── governance (ADMIN)

    /// @notice Creates a zone; ids start at 1 and increase by one.
    function createZone(ZoneConfig calldata config) external returns (uint32 zone);
    /// @notice (De)activates a zone.
    function setZoneActive(uint32 zone, bool active) external;
    /// @notice Sets a zone's grid fee schedule.
    function setFeeSchedule(uint32 zone, FeeSchedule calldata fees) external;
    /// @notice Sets a zone's capacity per trading interval, in Wh.
    function setCapacity(uint32 zone, uint64 capacityWhPerInterval) external;
    /// @notice Sets a zone's emission factor, in gCO2e per kWh.
    function setEmissionFactor(uint32 zone, uint32 emissionFactor_gCO2ePerKWh) external;
    /// @notice Sets the address that receives a zone's grid fees.
    function setTreasury(uint32 zone, address treasury) external;
    /// @notice Sets a zone's compliance limits.
    function setComplianceLimits(uint32 zone, ComplianceLimits calldata limits) external;
    /// @notice Sets the length of a trading interval, in seconds.
    function setTradingInterval(uint32 intervalSeconds) external;
    /// @notice Allows or disallows `operator` to halt and resume `zone`.
    function setZoneOperator(uint32 zone, address operator, bool allowed) external;
    /// @notice Lifts the global emergency pause.
    function unpause() external;
    /// @notice Wires the market (EnergyTrading), once: from then on every change of a zone's flags, fees or
    /// limits and of the pause is pushed to it (`IZoneRulesHook`). Pushes the pause state and every existing
    /// zone's rules at once (a loop over the governance-created zones).
    function setMarket(address market) external;

    // ─────────────────────────────────────────────────────────────── grid operators and guardians

    /// @notice Halts trading in `zone` (GRID_OPERATOR of that zone). Cancel, withdraw and redeem still work.
    function haltZone(uint32 zone, string calldata reason) external;
    /// @notice Resumes trading in a halted `zone` (GRID_OPERATOR of that zone).
    function resumeZone(uint32 zone) external;
    /// @notice Global emergency pause (GUARDIAN): stops trading everywhere and stops readings minting.
    function pause() external;

    // ─────────────────────────────────────────────────────────────── views

    /// @notice The highest grid fee any schedule may set, in bps.
    function MAX_GRID_FEE_BPS() external view returns (uint16);
    /// @notice Number of zones created; valid ids are 1..zoneCount.
    function zoneCount() external view returns (uint32);
    /// @notice Whether `zone` was created.
    function zoneExists(uint32 zone) external view returns (bool);
    /// @notice A zone's full configuration and state. Reverts for an unknown zone.
    function getZone(uint32 zone) external view returns (Zone memory);
    /// @notice Whether `account` may halt and resume `zone`.
    function isZoneOperator(uint32 zone, address account) external view returns (bool);
    /// @notice Whether orders may be placed and matched in `zone` now: it exists, is active, is not
    /// halted and the system is not paused.
    function isTradingAllowed(uint32 zone) external view returns (bool);
    /// @notice What EnergyTrading checks before placing or matching in `zone`, in one call: whether trading
    /// is allowed now (as `isTradingAllowed`) and the zone's compliance limits (zero when the zone is unknown).
    function tradingRules(uint32 zone) external view returns (bool allowed, ComplianceLimits memory limits);
    /// @notice `zone`'s trading rules as pushed to the market (all zero for an unknown zone).
    function zoneTradingRules(uint32 zone) external view returns (TradingRules memory);
    /// @notice The market wired with `setMarket` (zero until then).
    function market() external view returns (address);
    /// @notice Whether `timestamp` falls in `zone`'s peak window.
    function isPeak(uint32 zone, uint64 timestamp) external view returns (bool);
    /// @notice The grid fee in bps that applies in `zone` at `timestamp`.
    function gridFeeBps(uint32 zone, uint64 timestamp) external view returns (uint16);
    /// @notice Length of a trading interval, in seconds.
    function tradingInterval() external view returns (uint32);
    /// @notice Whether the global emergency pause is on.
    function paused() external view returns (bool);
}
