// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {GridXFixture} from "./GridXFixture.sol";
import {Settlement} from "../../contracts/Settlement.sol";
import {EnergyTrading} from "../../contracts/EnergyTrading.sol";
import {MockStablecoin} from "../../contracts/MockStablecoin.sol";
import {PriceOracle} from "../../contracts/PriceOracle.sol";
import {IEnergyTrading} from "../../contracts/interfaces/IEnergyTrading.sol";
import {IPriceOracle} from "../../contracts/interfaces/IPriceOracle.sol";
import {IQuorumOracle} from "../../contracts/interfaces/IQuorumOracle.sol";
import {Roles} from "../../contracts/libraries/Roles.sol";

/// @dev The metering fixture plus the market, wired as production wires it: a real PriceOracle (quorum 1,
/// one operator key so tests can post signed reference prices), MockStablecoin as the payment token,
/// Settlement and EnergyTrading with every restricted function assigned to ADMIN (this contract).
/// Prices: 6-decimal USD, tick 1,000 base units (0.001 USD) per kWh; the zone's limits are GridXFixture's
/// (min 100 Wh, max 1,000,000 Wh, 5,000,000 Wh per account per day); fees 150 bps peak (17–21 UTC),
/// 50 off-peak, protocol 20 bps.
abstract contract MarketFixture is GridXFixture {
    bytes32 internal constant EIP712_DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant PRICE_REPORT_TYPEHASH = keccak256(
        "PriceReport(uint32 zone,uint64 round,uint64 observedAt,uint128 pricePerKWh,uint64 supplyW,uint64 demandW)"
    );

    uint256 internal constant USD = 1e6;
    uint128 internal constant TICK = 1_000; // 0.001 USD per kWh
    uint128 internal constant PRICE = 250_000; // 0.25 USD per kWh
    uint16 internal constant PROTOCOL_FEE_BPS = 20;
    uint16 internal constant MAX_FILLS = 64;
    uint16 internal constant PRICE_BAND_BPS = 5_000; // ±50 %
    uint32 internal constant ORACLE_HEARTBEAT = 1 hours;
    uint64 internal constant ONE_DAY = 1 days;

    uint8 internal constant IOC = 1;
    uint8 internal constant FOK = 2;
    uint8 internal constant POST_ONLY = 4;

    MockStablecoin internal usd;
    PriceOracle internal priceOracle;
    Settlement internal settlement;
    EnergyTrading internal trading;

    address internal protocolTreasury = makeAddr("protocolTreasury");
    address internal carol = makeAddr("carol");
    address internal dave = makeAddr("dave");
    address internal keeper = makeAddr("keeper");
    address internal priceReporter;
    uint256 internal priceReporterKey;
    uint64 internal priceRound;

    function setUp() public virtual override {
        super.setUp();
        (priceReporter, priceReporterKey) = makeAddrAndKey("priceReporter");
        manager.grantRole(Roles.ORACLE_OPERATOR, priceReporter, 0);

        IQuorumOracle.FieldConfig[] memory configs = new IQuorumOracle.FieldConfig[](3);
        configs[0] = IQuorumOracle.FieldConfig({min: 1, max: 1e12, maxDeviationBps: 0});
        configs[1] = IQuorumOracle.FieldConfig({min: 0, max: 1e12, maxDeviationBps: 0});
        configs[2] = IQuorumOracle.FieldConfig({min: 0, max: 1e12, maxDeviationBps: 0});
        priceOracle = new PriceOracle(address(manager), grid, 1, ORACLE_HEARTBEAT, configs);

        usd = new MockStablecoin();
        trading = _newMarket(address(usd));
        settlement = Settlement(trading.settlement());
        grid.setMarket(address(trading));
        priceOracle.setMarket(address(trading));
    }

    /// @dev A market on the fixture's zones and oracle, with its own vault for `paymentToken` (not wired to
    /// GridManagement or PriceOracle: see `_pushCopies`).
    function _newMarket(address paymentToken) internal returns (EnergyTrading) {
        return new EnergyTrading(
            address(manager),
            _vaultTerms(paymentToken),
            grid,
            priceOracle,
            TICK,
            MAX_FILLS,
            PRICE_BAND_BPS,
            IEnergyTrading.StaleReferencePolicy.Unbanded
        );
    }

    /// @dev The fixture's vault terms, with `paymentToken` as the payment token.
    function _vaultTerms(address paymentToken) internal view returns (IEnergyTrading.VaultTerms memory) {
        return IEnergyTrading.VaultTerms({
            paymentToken: paymentToken,
            energyToken: address(token),
            protocolTreasury: protocolTreasury,
            protocolFeeBps: PROTOCOL_FEE_BPS
        });
    }

    /// @dev Gives a second market (one the fixture's GridManagement and PriceOracle are not wired to) the
    /// copies they would push: `zone_`'s rules, the pause, the heartbeat and the latest reference price.
    function _pushCopies(EnergyTrading market_, uint32 zone_) internal {
        vm.startPrank(address(grid));
        market_.onZoneRulesChanged(zone_, grid.zoneTradingRules(zone_));
        market_.onPauseChanged(grid.paused());
        vm.stopPrank();
        (uint128 price, uint64 observedAt,) = priceOracle.referencePrice(zone_);
        vm.startPrank(address(priceOracle));
        market_.onReferenceHeartbeat(priceOracle.heartbeat());
        if (observedAt != 0) market_.onReferencePrice(zone_, price, observedAt);
        vm.stopPrank();
    }

    // ─────────────────────────────────────────────────────────────── money

    /// @dev Gives `account` wallet balances (not deposited) and approves the vault for both tokens.
    function _fund(address account, uint256 usdAmount, uint256 creditsWh) internal {
        if (usdAmount != 0) deal(address(usd), account, usd.balanceOf(account) + usdAmount);
        if (creditsWh != 0) deal(address(token), account, token.balanceOf(account) + creditsWh, true);
        vm.startPrank(account);
        usd.approve(address(settlement), type(uint256).max);
        token.approve(address(settlement), type(uint256).max);
        vm.stopPrank();
    }

    /// @dev Funds and deposits into the vault.
    function _deposit(address account, uint256 usdAmount, uint256 creditsWh) internal {
        _fund(account, usdAmount, creditsWh);
        vm.startPrank(account);
        if (usdAmount != 0) settlement.deposit(address(usd), usdAmount);
        if (creditsWh != 0) settlement.deposit(address(token), creditsWh);
        vm.stopPrank();
    }

    function _availableUsd(address account) internal view returns (uint256) {
        return settlement.balanceOf(account, address(usd)).available;
    }

    function _lockedUsd(address account) internal view returns (uint256) {
        return settlement.balanceOf(account, address(usd)).locked;
    }

    function _availableWh(address account) internal view returns (uint256) {
        return settlement.balanceOf(account, address(token)).available;
    }

    function _lockedWh(address account) internal view returns (uint256) {
        return settlement.balanceOf(account, address(token)).locked;
    }

    // ─────────────────────────────────────────────────────────────── orders

    function _buy(address account, uint64 amountWh, uint128 price) internal returns (uint256) {
        vm.prank(account);
        return trading.createOrder(zone, IEnergyTrading.Side.Buy, amountWh, price, uint64(block.timestamp + ONE_DAY), 0);
    }

    function _sell(address account, uint64 amountWh, uint128 price) internal returns (uint256) {
        vm.prank(account);
        return trading.createOrder(zone, IEnergyTrading.Side.Sell, amountWh, price, uint64(block.timestamp + ONE_DAY), 0);
    }

    function _order(address account, IEnergyTrading.Side side, uint64 amountWh, uint128 price, uint64 expiry, uint8 flags)
        internal
        returns (uint256)
    {
        vm.prank(account);
        return trading.createOrder(zone, side, amountWh, price, expiry, flags);
    }

    // ─────────────────────────────────────────────────────────────── reference price

    /// @dev Posts a fresh signed reference price for `zone_`, observed now.
    function _postReference(uint32 zone_, uint128 pricePerKWh) internal {
        priceRound += 1;
        int256[] memory values = new int256[](3);
        values[0] = SafeCast.toInt256(pricePerKWh);
        uint64 observedAt = uint64(block.timestamp);
        bytes32 structHash = keccak256(
            abi.encode(PRICE_REPORT_TYPEHASH, zone_, priceRound, observedAt, pricePerKWh, uint64(0), uint64(0))
        );
        bytes32 domainSeparator = keccak256(
            abi.encode(
                EIP712_DOMAIN_TYPEHASH,
                keccak256("GridX PriceOracle"),
                keccak256("1"),
                block.chainid,
                address(priceOracle)
            )
        );
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(priceReporterKey, keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash)));
        IQuorumOracle.Observation[] memory list = new IQuorumOracle.Observation[](1);
        list[0] = IQuorumOracle.Observation({
            signer: priceReporter,
            observedAt: observedAt,
            values: values,
            signature: abi.encodePacked(r, s, v)
        });
        vm.prank(keeper);
        priceOracle.submitReport(zone_, priceRound, list);
    }
}
