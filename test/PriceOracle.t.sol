// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IPriceOracle} from "../contracts/interfaces/IPriceOracle.sol";
import {IQuorumOracle} from "../contracts/interfaces/IQuorumOracle.sol";
import {PriceOracle} from "../contracts/PriceOracle.sol";
import {OracleTestBase} from "./QuorumOracle.t.sol";

contract PriceOracleTest is OracleTestBase {
    bytes32 internal constant PRICE_REPORT_TYPEHASH = keccak256(
        "PriceReport(uint32 zone,uint64 round,uint64 observedAt,uint128 pricePerKWh,uint64 supplyW,uint64 demandW)"
    );
    uint8 internal constant PRICE = uint8(IPriceOracle.Field.PricePerKWh);
    uint8 internal constant SUPPLY = uint8(IPriceOracle.Field.SupplyW);
    uint8 internal constant DEMAND = uint8(IPriceOracle.Field.DemandW);
    uint16 internal constant PRICE_DEVIATION_BPS = 2_000;
    int256 internal constant MAX_POWER_W = 1e12;

    PriceOracle internal oracle;

    function _deployOracle() internal override {
        IQuorumOracle.FieldConfig[] memory configs = new IQuorumOracle.FieldConfig[](3);
        configs[PRICE] = _config(1, 1e12, PRICE_DEVIATION_BPS);
        configs[SUPPLY] = _config(0, MAX_POWER_W, 0);
        configs[DEMAND] = _config(0, MAX_POWER_W, 0);
        oracle = new PriceOracle(address(manager), grid, QUORUM, HEARTBEAT, configs);
    }

    function _oracle() internal view override returns (IQuorumOracle) {
        return oracle;
    }

    function _domainName() internal pure override returns (string memory) {
        return "GridX PriceOracle";
    }

    function _hashStruct(uint32 zone_, uint64 round, uint64 observedAt, int256[] memory values)
        internal
        pure
        override
        returns (bytes32)
    {
        return keccak256(
            abi.encode(
                PRICE_REPORT_TYPEHASH,
                zone_,
                round,
                observedAt,
                SafeCast.toUint128(SafeCast.toUint256(values[PRICE])),
                SafeCast.toUint64(SafeCast.toUint256(values[SUPPLY])),
                SafeCast.toUint64(SafeCast.toUint256(values[DEMAND]))
            )
        );
    }

    function _values(int256 price, int256 supplyW, int256 demandW) internal pure returns (int256[] memory values) {
        values = new int256[](3);
        (values[PRICE], values[SUPPLY], values[DEMAND]) = (price, supplyW, demandW);
    }

    function test_constructor_configures() public view {
        assertEq(oracle.REPORT_TYPEHASH(), PRICE_REPORT_TYPEHASH);
        assertEq(oracle.fieldCount(), 3);
        (, string memory name, string memory version,, address verifyingContract,,) = oracle.eip712Domain();
        assertEq(name, "GridX PriceOracle");
        assertEq(version, "1");
        assertEq(verifyingContract, address(oracle));
        assertEq(oracle.fieldConfig(PRICE).maxDeviationBps, PRICE_DEVIATION_BPS);
    }

    function test_submitReport_acceptsSignedPriceReport() public {
        _submit(1, _values(60_000, 5_000_000, 4_000_000));
        (uint128 price, uint64 observedAt, bool fresh) = oracle.referencePrice(zone);
        assertEq(price, 60_000);
        assertEq(observedAt, block.timestamp);
        assertTrue(fresh);
        (int256 supplyW,,) = oracle.latestValue(zone, SUPPLY);
        (int256 demandW,) = oracle.freshValue(zone, DEMAND);
        assertEq(supplyW, 5_000_000);
        assertEq(demandW, 4_000_000);
    }

    function test_submitReport_revertsOnPriceJump() public {
        _submit(1, _values(60_000, 1, 1));
        skip(5);
        IQuorumOracle.Observation[] memory list =
            _quorumSigned(2, _values(72_001, 1, 1));
        _expectSubmitRevert(
            2,
            list,
            abi.encodeWithSelector(
                IQuorumOracle.QuorumOracleDeviationTooHigh.selector, zone, PRICE, 60_000, 72_001, PRICE_DEVIATION_BPS
            )
        );
        _submit(2, _values(72_000, 1, 1));
    }

    function test_submitReport_revertsOnZeroPrice() public {
        IQuorumOracle.Observation[] memory list = _quorumSigned(1, _values(0, 1, 1));
        _expectSubmitRevert(
            1, list, abi.encodeWithSelector(IQuorumOracle.QuorumOracleOutOfBounds.selector, zone, PRICE, 0, 1, 1e12)
        );
    }

    function test_referencePrice_beforeFirstReport() public view {
        (uint128 price, uint64 observedAt, bool fresh) = oracle.referencePrice(zone);
        assertEq(price, 0);
        assertEq(observedAt, 0);
        assertFalse(fresh);
    }

    function test_referencePrice_notFreshAfterHeartbeat() public {
        _submit(1, _values(60_000, 1, 1));
        skip(HEARTBEAT + 1);
        (uint128 price,, bool fresh) = oracle.referencePrice(zone);
        assertEq(price, 60_000);
        assertFalse(fresh);
    }

    function test_referencePrice_atHardLimit() public {
        int256 maxPrice = type(int120).max;
        oracle.setFieldConfig(PRICE, 0, maxPrice, 0);
        _submit(1, _values(maxPrice, 1, 1));
        (uint128 price,,) = oracle.referencePrice(zone);
        assertEq(price, uint128(uint120(type(int120).max)));
    }

    function test_fieldLimits_matchReportTypes() public view {
        _assertLimits(PRICE, 0, type(int120).max);
        _assertLimits(SUPPLY, 0, type(int64).max);
        _assertLimits(DEMAND, 0, type(int64).max);
    }

    function test_setFieldConfig_revertsOutsideHardLimits() public {
        _expectInvalidConfig(PRICE, 0, int256(type(int120).max) + 1);
        _expectInvalidConfig(SUPPLY, -1, 0);
        _expectInvalidConfig(DEMAND, 0, int256(type(int64).max) + 1);
    }

    function test_setFieldConfig_revertsWhenUnauthorized() public {
        vm.expectRevert(_unauthorized(stranger));
        vm.prank(stranger);
        oracle.setFieldConfig(PRICE, 1, 2, 0);
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
