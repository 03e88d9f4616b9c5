// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IGridOracle} from "../contracts/interfaces/IGridOracle.sol";
import {IQuorumOracle} from "../contracts/interfaces/IQuorumOracle.sol";
import {GridOracle} from "../contracts/GridOracle.sol";
import {OracleTestBase} from "./QuorumOracle.t.sol";

contract GridOracleTest is OracleTestBase {
    bytes32 internal constant GRID_REPORT_TYPEHASH = keccak256(
        "GridReport(uint32 zone,uint64 round,uint64 observedAt,uint64 supplyW,uint64 demandW,uint8 status,"
        "uint16 healthBps,uint32 frequency_mHz,uint32 voltage_mV,uint64 headroomW)"
    );
    uint8 internal constant SUPPLY = uint8(IGridOracle.Field.SupplyW);
    uint8 internal constant DEMAND = uint8(IGridOracle.Field.DemandW);
    uint8 internal constant STATUS = uint8(IGridOracle.Field.Status);
    uint8 internal constant HEALTH = uint8(IGridOracle.Field.HealthBps);
    uint8 internal constant FREQUENCY = uint8(IGridOracle.Field.Frequency_mHz);
    uint8 internal constant VOLTAGE = uint8(IGridOracle.Field.Voltage_mV);
    uint8 internal constant HEADROOM = uint8(IGridOracle.Field.HeadroomW);
    int256 internal constant INT64_MAX = type(int64).max;

    GridOracle internal oracle;

    function _deployOracle() internal override {
        oracle = new GridOracle(address(manager), grid, QUORUM, HEARTBEAT, _defaultConfigs());
    }

    function _defaultConfigs() internal pure returns (IQuorumOracle.FieldConfig[] memory configs) {
        configs = new IQuorumOracle.FieldConfig[](7);
        configs[SUPPLY] = _config(0, INT64_MAX, 0);
        configs[DEMAND] = _config(0, INT64_MAX, 0);
        configs[STATUS] = _config(0, 2, 0);
        configs[HEALTH] = _config(0, 10_000, 0);
        configs[FREQUENCY] = _config(45_000, 65_000, 100);
        configs[VOLTAGE] = _config(0, 1_000_000, 0);
        configs[HEADROOM] = _config(0, INT64_MAX, 0);
    }

    function _oracle() internal view override returns (IQuorumOracle) {
        return oracle;
    }

    function _domainName() internal pure override returns (string memory) {
        return "GridX GridOracle";
    }

    function _hashStruct(uint32 zone_, uint64 round, uint64 observedAt, int256[] memory v)
        internal
        pure
        override
        returns (bytes32)
    {
        return keccak256(
            bytes.concat(
                abi.encode(GRID_REPORT_TYPEHASH, zone_, round, observedAt),
                abi.encode(
                    SafeCast.toUint64(SafeCast.toUint256(v[SUPPLY])),
                    SafeCast.toUint64(SafeCast.toUint256(v[DEMAND])),
                    SafeCast.toUint8(SafeCast.toUint256(v[STATUS])),
                    SafeCast.toUint16(SafeCast.toUint256(v[HEALTH])),
                    SafeCast.toUint32(SafeCast.toUint256(v[FREQUENCY])),
                    SafeCast.toUint32(SafeCast.toUint256(v[VOLTAGE])),
                    SafeCast.toUint64(SafeCast.toUint256(v[HEADROOM]))
                )
            )
        );
    }

    function _values(int256 supplyW, int256 demandW, IGridOracle.GridStatus status)
        internal
        pure
        returns (int256[] memory v)
    {
        v = new int256[](7);
        (v[SUPPLY], v[DEMAND], v[STATUS]) = (supplyW, demandW, int256(uint256(status)));
        (v[HEALTH], v[FREQUENCY], v[VOLTAGE], v[HEADROOM]) = (8_500, 50_010, 230_000, 2_000_000);
    }

    function test_constructor_configures() public view {
        assertEq(oracle.REPORT_TYPEHASH(), GRID_REPORT_TYPEHASH);
        assertEq(oracle.fieldCount(), 7);
        (, string memory name,,,,,) = oracle.eip712Domain();
        assertEq(name, "GridX GridOracle");
    }

    function test_gridState_returnsFieldsAndShortageImbalance() public {
        _submit(1, _values(5_000_000, 6_000_000, IGridOracle.GridStatus.Shortage));
        IGridOracle.GridState memory state = oracle.gridState(zone);
        assertEq(state.supplyW, 5_000_000);
        assertEq(state.demandW, 6_000_000);
        assertEq(state.imbalanceW, 1_000_000);
        assertEq(uint8(state.status), uint8(IGridOracle.GridStatus.Shortage));
        assertEq(state.healthBps, 8_500);
        assertEq(state.frequency_mHz, 50_010);
        assertEq(state.voltage_mV, 230_000);
        assertEq(state.headroomW, 2_000_000);
        assertEq(state.observedAt, block.timestamp);
        assertTrue(state.fresh);
    }

    function test_gridState_negativeImbalanceOnOversupply() public {
        _submit(1, _values(7_000_000, 6_000_000, IGridOracle.GridStatus.Oversupply));
        IGridOracle.GridState memory state = oracle.gridState(zone);
        assertEq(state.imbalanceW, -1_000_000);
        assertEq(uint8(state.status), uint8(IGridOracle.GridStatus.Oversupply));
    }

    function test_gridState_imbalanceAtPowerExtremes() public {
        _submit(1, _values(0, INT64_MAX, IGridOracle.GridStatus.Shortage));
        assertEq(oracle.gridState(zone).imbalanceW, type(int64).max);
        skip(1);
        _submit(2, _values(INT64_MAX, 0, IGridOracle.GridStatus.Oversupply));
        assertEq(oracle.gridState(zone).imbalanceW, -type(int64).max);
    }

    function test_gridState_beforeFirstReport() public view {
        IGridOracle.GridState memory state = oracle.gridState(zone);
        assertEq(state.supplyW, 0);
        assertEq(state.imbalanceW, 0);
        assertEq(uint8(state.status), uint8(IGridOracle.GridStatus.Balanced));
        assertEq(state.observedAt, 0);
        assertFalse(state.fresh);
    }

    function test_gridState_notFreshAfterHeartbeat() public {
        _submit(1, _values(1, 1, IGridOracle.GridStatus.Balanced));
        skip(HEARTBEAT + 1);
        assertFalse(oracle.gridState(zone).fresh);
    }

    function test_submitReport_revertsOnInvalidStatus() public {
        int256[] memory v = _values(1, 1, IGridOracle.GridStatus.Balanced);
        v[STATUS] = 3;
        IQuorumOracle.Observation[] memory list = _quorumSigned(1, v);
        _expectSubmitRevert(
            1, list, abi.encodeWithSelector(IQuorumOracle.QuorumOracleOutOfBounds.selector, zone, STATUS, 3, 0, 2)
        );
    }

    function test_submitReport_revertsOnFrequencyJump() public {
        _submit(1, _values(1, 1, IGridOracle.GridStatus.Balanced));
        skip(5);
        int256[] memory v = _values(1, 1, IGridOracle.GridStatus.Balanced);
        v[FREQUENCY] = 50_511; // 50_010 + 1% + 1
        IQuorumOracle.Observation[] memory list = _quorumSigned(2, v);
        _expectSubmitRevert(
            2,
            list,
            abi.encodeWithSelector(
                IQuorumOracle.QuorumOracleDeviationTooHigh.selector, zone, FREQUENCY, 50_010, 50_511, 100
            )
        );
    }

    function test_fieldLimits_matchReportTypes() public view {
        _assertLimits(SUPPLY, 0, INT64_MAX);
        _assertLimits(DEMAND, 0, INT64_MAX);
        _assertLimits(STATUS, 0, 2);
        _assertLimits(HEALTH, 0, 10_000);
        _assertLimits(FREQUENCY, 0, int256(uint256(type(uint32).max)));
        _assertLimits(VOLTAGE, 0, int256(uint256(type(uint32).max)));
        _assertLimits(HEADROOM, 0, INT64_MAX);
    }

    function test_setFieldConfig_revertsOutsideHardLimits() public {
        _expectInvalidConfig(SUPPLY, -1, 0);
        _expectInvalidConfig(DEMAND, 0, INT64_MAX + 1);
        _expectInvalidConfig(STATUS, 0, 3);
        _expectInvalidConfig(HEALTH, 0, 10_001);
        _expectInvalidConfig(FREQUENCY, 0, int256(uint256(type(uint32).max)) + 1);
        _expectInvalidConfig(VOLTAGE, -1, 0);
        _expectInvalidConfig(HEADROOM, 0, INT64_MAX + 1);
    }

    function test_setHeartbeat_revertsWhenUnauthorized() public {
        vm.expectRevert(_unauthorized(stranger));
        vm.prank(stranger);
        oracle.setHeartbeat(1);
    }

    function _assertLimits(uint8 field, int256 min, int256 max) internal view {
        (int256 hardMin, int256 hardMax) = oracle.fieldLimits(field);
        assertEq(hardMin, min);
        assertEq(hardMax, max);
    }

    function _expectInvalidConfig(uint8 field, int256 min, int256 max) internal {
        vm.expectRevert(
            abi.encodeWithSelector(IQuorumOracle.QuorumOracleInvalidFieldConfig.selector, field, min, max, 0)
        );
        oracle.setFieldConfig(field, min, max, 0);
    }
}
