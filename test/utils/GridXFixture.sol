// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SlimTest} from "./SlimTest.sol";
import {GridXAccessManager} from "../../contracts/GridXAccessManager.sol";
import {GridManagement} from "../../contracts/GridManagement.sol";
import {SmartMeter} from "../../contracts/SmartMeter.sol";
import {EnergyToken} from "../../contracts/EnergyToken.sol";
import {IGridManagement} from "../../contracts/interfaces/IGridManagement.sol";
import {ISmartMeter} from "../../contracts/interfaces/ISmartMeter.sol";
import {Roles} from "../../contracts/libraries/Roles.sol";

/// @dev Deploys the metering layer wired as production wires it: every restricted function assigned
/// to its role in the AccessManager, this test contract as ADMIN.
abstract contract GridXFixture is SlimTest {
    GridXAccessManager internal manager;
    GridManagement internal grid;
    SmartMeter internal meter;
    EnergyToken internal token;

    address internal gridOperator = makeAddr("gridOperator");
    address internal oracleOperator = makeAddr("oracleOperator");
    address internal registrar = makeAddr("registrar");
    address internal guardian = makeAddr("guardian");
    address internal treasury = makeAddr("treasury");
    address internal stranger = makeAddr("stranger");
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");

    uint32 internal constant TRADING_INTERVAL = 900;
    uint32 internal constant FUTURE_SKEW = 120;
    uint32 internal zone;

    function setUp() public virtual {
        vm.warp(1_750_000_000); // a realistic clock, mid-June 2025
        manager = new GridXAccessManager(address(this));
        grid = new GridManagement(address(manager), TRADING_INTERVAL);
        meter = new SmartMeter(address(manager), grid, FUTURE_SKEW);
        token = new EnergyToken(meter);

        _assign(address(grid), Roles.GRID_OPERATOR, grid.haltZone.selector);
        _assign(address(grid), Roles.GRID_OPERATOR, grid.resumeZone.selector);
        _assign(address(grid), Roles.GUARDIAN, grid.pause.selector);
        _assign(address(meter), Roles.METER_REGISTRAR, meter.registerMeter.selector);
        _assign(address(meter), Roles.METER_REGISTRAR, meter.setMeterActive.selector);
        _assign(address(meter), Roles.METER_REGISTRAR, meter.setDeviceSigner.selector);
        _assign(address(meter), Roles.METER_REGISTRAR, meter.setRatedCapacity.selector);
        _assign(address(meter), Roles.ORACLE_OPERATOR, meter.submitReadings.selector);

        manager.grantRole(Roles.GRID_OPERATOR, gridOperator, 0);
        manager.grantRole(Roles.ORACLE_OPERATOR, oracleOperator, 0);
        manager.grantRole(Roles.METER_REGISTRAR, registrar, 0);
        manager.grantRole(Roles.GUARDIAN, guardian, 0);

        meter.setEnergyToken(address(token));
        zone = grid.createZone(defaultZoneConfig("Riverside"));
        grid.setZoneOperator(zone, gridOperator, true);
    }

    function defaultZoneConfig(string memory name) internal view returns (IGridManagement.ZoneConfig memory) {
        return IGridManagement.ZoneConfig({
            name: name,
            treasury: treasury,
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

    function _assign(address target, uint64 role, bytes4 selector) internal {
        bytes4[] memory selectors = new bytes4[](1);
        selectors[0] = selector;
        manager.setTargetFunctionRole(target, selectors, role);
    }
}
