// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IWeatherOracle} from "../contracts/interfaces/IWeatherOracle.sol";
import {IQuorumOracle} from "../contracts/interfaces/IQuorumOracle.sol";
import {WeatherOracle} from "../contracts/WeatherOracle.sol";
import {OracleTestBase} from "./QuorumOracle.t.sol";

contract WeatherOracleTest is OracleTestBase {
    bytes32 internal constant WEATHER_REPORT_TYPEHASH = keccak256(
        "WeatherReport(uint32 zone,uint64 round,uint64 observedAt,uint32 irradiance_Wm2,int32 temperature_cC,"
        "uint16 cloudCoverBps,uint8 condition)"
    );
    uint8 internal constant IRRADIANCE = uint8(IWeatherOracle.Field.Irradiance_Wm2);
    uint8 internal constant TEMPERATURE = uint8(IWeatherOracle.Field.Temperature_cC);
    uint8 internal constant CLOUD_COVER = uint8(IWeatherOracle.Field.CloudCoverBps);
    uint8 internal constant CONDITION = uint8(IWeatherOracle.Field.Condition);
    int256 internal constant ABSOLUTE_ZERO_CC = -27_315;

    WeatherOracle internal oracle;

    function _deployOracle() internal override {
        IQuorumOracle.FieldConfig[] memory configs = new IQuorumOracle.FieldConfig[](4);
        configs[IRRADIANCE] = _config(0, 1_500, 0);
        configs[TEMPERATURE] = _config(-9_000, 6_000, 0);
        configs[CLOUD_COVER] = _config(0, 10_000, 0);
        configs[CONDITION] = _config(0, 6, 0);
        oracle = new WeatherOracle(address(manager), grid, QUORUM, HEARTBEAT, configs);
    }

    function _oracle() internal view override returns (IQuorumOracle) {
        return oracle;
    }

    function _domainName() internal pure override returns (string memory) {
        return "GridX WeatherOracle";
    }

    function _hashStruct(uint32 zone_, uint64 round, uint64 observedAt, int256[] memory v)
        internal
        pure
        override
        returns (bytes32)
    {
        return keccak256(
            abi.encode(
                WEATHER_REPORT_TYPEHASH,
                zone_,
                round,
                observedAt,
                SafeCast.toUint32(SafeCast.toUint256(v[IRRADIANCE])),
                SafeCast.toInt32(v[TEMPERATURE]),
                SafeCast.toUint16(SafeCast.toUint256(v[CLOUD_COVER])),
                SafeCast.toUint8(SafeCast.toUint256(v[CONDITION]))
            )
        );
    }

    function _values(
        int256 irradiance,
        int256 temperature,
        int256 cloudCover,
        IWeatherOracle.WeatherCondition condition
    ) internal
        pure
        returns (int256[] memory v)
    {
        v = new int256[](4);
        (v[IRRADIANCE], v[TEMPERATURE], v[CLOUD_COVER]) = (irradiance, temperature, cloudCover);
        v[CONDITION] = int256(uint256(condition));
    }

    function test_constructor_configures() public view {
        assertEq(oracle.REPORT_TYPEHASH(), WEATHER_REPORT_TYPEHASH);
        assertEq(oracle.fieldCount(), 4);
        (, string memory name,,,,,) = oracle.eip712Domain();
        assertEq(name, "GridX WeatherOracle");
    }

    function test_weather_returnsTypedFieldsWithNegativeTemperature() public {
        _submit(1, _values(120, -1_250, 9_000, IWeatherOracle.WeatherCondition.Snow));
        IWeatherOracle.Weather memory w = oracle.weather(zone);
        assertEq(w.irradiance_Wm2, 120);
        assertEq(w.temperature_cC, -1_250);
        assertEq(w.cloudCoverBps, 9_000);
        assertEq(uint8(w.condition), uint8(IWeatherOracle.WeatherCondition.Snow));
        assertEq(w.observedAt, block.timestamp);
        assertTrue(w.fresh);
    }

    function test_weather_medianOfSignedTemperatures() public {
        int256[3] memory temperatures = [int256(-300), 150, -50];
        IQuorumOracle.Observation[] memory list = new IQuorumOracle.Observation[](3);
        for (uint256 i; i < 3; ++i) {
            list[i] = _observation(
                i,
                zone,
                1,
                uint64(block.timestamp),
                _values(800, temperatures[i], 1_000, IWeatherOracle.WeatherCondition.Clear)
            );
        }
        oracle.submitReport(zone, 1, list);
        assertEq(oracle.weather(zone).temperature_cC, -50);
    }

    function test_weather_beforeFirstReport() public view {
        IWeatherOracle.Weather memory w = oracle.weather(zone);
        assertEq(w.temperature_cC, 0);
        assertEq(uint8(w.condition), uint8(IWeatherOracle.WeatherCondition.Clear));
        assertFalse(w.fresh);
    }

    function test_weather_notFreshAfterHeartbeat() public {
        _submit(1, _values(0, 0, 0, IWeatherOracle.WeatherCondition.Fog));
        skip(HEARTBEAT + 1);
        assertFalse(oracle.weather(zone).fresh);
    }

    function test_weather_temperatureAtAbsoluteZero() public {
        oracle.setFieldConfig(TEMPERATURE, ABSOLUTE_ZERO_CC, 0, 0);
        _submit(1, _values(0, ABSOLUTE_ZERO_CC, 0, IWeatherOracle.WeatherCondition.Clear));
        assertEq(oracle.weather(zone).temperature_cC, -27_315);
    }

    function test_submitReport_revertsOnInvalidCondition() public {
        int256[] memory v = _values(0, 0, 0, IWeatherOracle.WeatherCondition.Storm);
        v[CONDITION] = 7;
        IQuorumOracle.Observation[] memory list = _quorumSigned(1, v);
        _expectSubmitRevert(
            1, list, abi.encodeWithSelector(IQuorumOracle.QuorumOracleOutOfBounds.selector, zone, CONDITION, 7, 0, 6)
        );
    }

    function test_fieldLimits_matchReportTypes() public view {
        _assertLimits(IRRADIANCE, 0, int256(uint256(type(uint32).max)));
        _assertLimits(TEMPERATURE, ABSOLUTE_ZERO_CC, type(int32).max);
        _assertLimits(CLOUD_COVER, 0, 10_000);
        _assertLimits(CONDITION, 0, 6);
    }

    function test_setFieldConfig_revertsOutsideHardLimits() public {
        _expectInvalidConfig(IRRADIANCE, 0, int256(uint256(type(uint32).max)) + 1);
        _expectInvalidConfig(TEMPERATURE, ABSOLUTE_ZERO_CC - 1, 0);
        _expectInvalidConfig(TEMPERATURE, 0, int256(type(int32).max) + 1);
        _expectInvalidConfig(CLOUD_COVER, 0, 10_001);
        _expectInvalidConfig(CONDITION, 0, 7);
    }

    function test_setQuorum_revertsWhenUnauthorized() public {
        vm.expectRevert(_unauthorized(stranger));
        vm.prank(stranger);
        oracle.setQuorum(1);
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
