// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {EnergyAssetNFT} from "../contracts/EnergyAssetNFT.sol";
import {EnergyToken} from "../contracts/EnergyToken.sol";
import {SmartMeter} from "../contracts/SmartMeter.sol";
import {IEnergyAssetNFT} from "../contracts/interfaces/IEnergyAssetNFT.sol";
import {ISmartMeter} from "../contracts/interfaces/ISmartMeter.sol";
import {EnergyAssetFixture} from "./utils/EnergyAssetFixture.sol";
import {ReadingSigner} from "./utils/ReadingSigner.sol";
import {SlimTest} from "./utils/SlimTest.sol";

/// @dev Drives two assets held by three holders through the real metering path: device-signed readings
/// posted to SmartMeter, credits minted by `claimCredits` (by a keeper, or by the asset's own claim) and
/// reported back through `onCreditsClaimed`. Asset slot 0 is split and gathered again and again; asset slot 1
/// stays whole, changes hands as an NFT and is redeemed and re-minted on the same meter. Ghost books count
/// what SmartMeter attributed and what each claim paid.
contract AssetHandler is SlimTest {
    uint32 internal constant CAPACITY_W = 4_000_000_000;

    EnergyAssetNFT internal immutable nft;
    SmartMeter internal immutable meter;
    EnergyToken internal immutable token;
    address internal immutable operator;
    address internal immutable keeper;

    address[3] internal holders;
    uint64[2] internal meterIds;
    uint256[2] internal deviceKeys;
    uint64[2] internal seqs;
    uint64[2] internal registers;
    uint256[2] public assetIds;

    mapping(uint256 assetId => uint256 amountWh) public attributed;
    mapping(uint256 assetId => uint256 amountWh) public claimed;
    /// @dev Claims that paid something other than the view promised.
    uint256 public wrongPayments;
    /// @dev Calls the handler only makes when they should succeed, and that reverted anyway.
    uint256 public unexpectedReverts;
    uint256 public claims;
    uint256 public shareTransfers;
    uint256 public redemptions;
    uint256 public fractionalizations;
    uint256 public defractionalizations;

    /// @dev The two assets, their meters and what their devices last signed.
    struct Slots {
        uint64[2] meterIds;
        uint256[2] deviceKeys;
        uint64[2] seqs;
        uint64[2] registers;
        uint256[2] assetIds;
    }

    constructor(
        EnergyAssetNFT nft_,
        SmartMeter meter_,
        EnergyToken token_,
        address operator_,
        address keeper_,
        address[3] memory holders_,
        Slots memory slots
    ) {
        nft = nft_;
        meter = meter_;
        token = token_;
        operator = operator_;
        keeper = keeper_;
        holders = holders_;
        meterIds = slots.meterIds;
        deviceKeys = slots.deviceKeys;
        seqs = slots.seqs;
        registers = slots.registers;
        assetIds = slots.assetIds;
    }

    function holderAt(uint256 i) external view returns (address) {
        return holders[i];
    }

    // ─────────────────────────────────────────────────────────────── actions

    /// The meter of `slot` reports `producedWh` of surplus; a keeper may mint it right away.
    function produce(uint256 slot, uint64 producedWh, bool keeperPulls) external {
        slot = bound(slot, 0, 1);
        producedWh = uint64(bound(producedWh, 0, 5_000_000_000));
        vm.warp(block.timestamp + (uint256(producedWh) * 3600) / CAPACITY_W + 1);
        uint64 seq = seqs[slot] + 1;
        uint64 register = registers[slot] + producedWh;
        ISmartMeter.Reading memory r =
            ReadingSigner.reading(meterIds[slot], seq, uint64(block.timestamp), register, 0);
        ISmartMeter.Reading[] memory readings = new ISmartMeter.Reading[](1);
        bytes[] memory signatures = new bytes[](1);
        readings[0] = r;
        signatures[0] = ReadingSigner.sign(deviceKeys[slot], r, address(meter), block.chainid);
        vm.prank(operator);
        require(meter.submitReadings(readings, signatures) == 1, "reading rejected");
        seqs[slot] = seq;
        registers[slot] = register;
        if (keeperPulls) _keeperPull(slot);
    }

    /// A holder claims from a live or a retired asset; the claim pulls the meter's credits first, or a keeper
    /// already did.
    function claim(uint256 holder, uint256 assetSeed, bool keeperFirst) external {
        address account = holders[bound(holder, 0, 2)];
        uint256 assetId = bound(assetSeed, 1, nft.assetCount());
        int256 slot = _slotOf(assetId);
        if (keeperFirst && slot >= 0) _keeperPull(uint256(slot));
        uint256 pending = slot >= 0 ? meter.claimableCredits(meterIds[uint256(slot)]) : 0;
        uint256 promised = nft.claimableAssetCredits(assetId, account);
        if (promised == 0 && pending == 0) return;

        uint256 balanceBefore = token.balanceOf(account);
        vm.prank(account);
        try nft.claimAssetCredits(assetId) returns (uint256 paid) {
            attributed[assetId] += pending;
            claimed[assetId] += paid;
            ++claims;
            if (token.balanceOf(account) - balanceBefore != paid) ++wrongPayments;
            if (pending == 0 && paid != promised) ++wrongPayments;
            if (paid < promised) ++wrongPayments;
        } catch (bytes memory reason) {
            // Only a holder with no share of the freshly pulled credits may be turned away.
            if (bytes4(reason) != IEnergyAssetNFT.EnergyAssetNFTNothingToClaim.selector || promised != 0) {
                ++wrongPayments;
            }
        }
    }

    /// A holder of slot 0's shares gives some to another holder, directly or through an approved spender.
    function transferShares(uint256 from, uint256 to, uint64 amount, bool viaSpender) external {
        uint256 assetId = assetIds[0];
        if (nft.getDistribution(assetId).totalShares == 0) return;
        address sender = holders[bound(from, 0, 2)];
        address recipient = holders[bound(to, 0, 2)];
        uint64 shares = nft.sharesOf(assetId, sender);
        if (shares == 0) return;
        amount = uint64(bound(amount, 1, shares));
        if (viaSpender) {
            vm.prank(sender);
            nft.approveShares(assetId, keeper, amount);
            vm.prank(keeper);
            try nft.transferSharesFrom(assetId, sender, recipient, amount) {
                ++shareTransfers;
            } catch {
                ++unexpectedReverts;
            }
        } else {
            vm.prank(sender);
            try nft.transferShares(assetId, recipient, amount) {
                ++shareTransfers;
            } catch {
                ++unexpectedReverts;
            }
        }
    }

    /// Slot 0: a whole asset is split by its holder into `totalShares`; a split one is gathered by `holder`
    /// (the others send it their shares) and made whole again.
    function toggleFraction(uint256 holder, uint64 totalShares) external {
        uint256 assetId = assetIds[0];
        uint64 total = nft.getDistribution(assetId).totalShares;
        if (total == 0) {
            totalShares = uint64(bound(totalShares, 2, 1e15));
            vm.prank(nft.ownerOf(assetId));
            try nft.fractionalize(assetId, totalShares) {
                ++fractionalizations;
            } catch {
                ++unexpectedReverts;
            }
            return;
        }
        address gatherer = holders[bound(holder, 0, 2)];
        for (uint256 i; i < 3; ++i) {
            uint64 shares = nft.sharesOf(assetId, holders[i]);
            if (holders[i] == gatherer || shares == 0) continue;
            vm.prank(holders[i]);
            nft.transferShares(assetId, gatherer, shares);
        }
        vm.prank(gatherer);
        try nft.defractionalize(assetId) {
            ++defractionalizations;
        } catch {
            ++unexpectedReverts;
        }
    }

    /// A whole asset's NFT changes hands.
    function transferNft(uint256 slot, uint256 to) external {
        uint256 assetId = assetIds[bound(slot, 0, 1)];
        if (nft.getDistribution(assetId).totalShares != 0) return;
        address from = nft.ownerOf(assetId);
        vm.prank(from);
        try nft.transferFrom(from, holders[bound(to, 0, 2)], assetId) {}
        catch {
            ++unexpectedReverts;
        }
    }

    /// Slot 1's holder redeems it (the meter's last credits are attributed and paid on the way), mints a new
    /// asset on the meter and hands the meter back to the registry.
    function recycle() external {
        uint256 assetId = assetIds[1];
        address holder = nft.ownerOf(assetId);
        uint64 meterId = meterIds[1];
        uint256 pending = meter.claimableCredits(meterId);
        uint256 balanceBefore = token.balanceOf(holder);
        uint256 promised = nft.claimableAssetCredits(assetId, holder);

        vm.prank(holder);
        uint256 paid;
        try nft.redeem(assetId) returns (uint256 amountWh) {
            paid = amountWh;
        } catch {
            ++unexpectedReverts;
            return;
        }
        attributed[assetId] += pending;
        claimed[assetId] += paid;
        if (paid != promised + pending || token.balanceOf(holder) - balanceBefore != paid) ++wrongPayments;
        ++redemptions;

        vm.startPrank(holder);
        uint256 next = nft.mintAsset(meterId, IEnergyAssetNFT.AssetKind.Battery, 5_000, uint64(block.timestamp), "B");
        meter.transferMeterOwnership(meterId, address(nft));
        vm.stopPrank();
        assetIds[1] = next;
    }

    // ─────────────────────────────────────────────────────────────── internal

    function _keeperPull(uint256 slot) internal {
        uint64 meterId = meterIds[slot];
        uint256 pending = meter.claimableCredits(meterId);
        uint64[] memory ids = new uint64[](1);
        ids[0] = meterId;
        vm.prank(keeper);
        meter.claimCredits(ids);
        attributed[assetIds[slot]] += pending;
    }

    /// The slot whose live asset `assetId` is, or -1 for a retired asset.
    function _slotOf(uint256 assetId) internal view returns (int256) {
        if (assetId == assetIds[0]) return 0;
        if (assetId == assetIds[1]) return 1;
        return -1;
    }
}

/// Invariants of the asset registry's credit books, whatever the handler did.
contract EnergyAssetNFTInvariantTest is EnergyAssetFixture {
    uint256 internal constant KEY_0 = 0xA55E70;
    uint256 internal constant KEY_1 = 0xA55E71;
    AssetHandler internal handler;

    function setUp() public override {
        super.setUp();
        (uint64 meter0, uint256 asset0) = _depositedAsset(alice, KEY_0, "INV-0");
        (uint64 meter1, uint256 asset1) = _depositedAsset(bob, KEY_1, "INV-1");
        handler = new AssetHandler(
            nft,
            meter,
            token,
            oracleOperator,
            stranger,
            [alice, bob, carol],
            AssetHandler.Slots({
                meterIds: [meter0, meter1],
                deviceKeys: [KEY_0, KEY_1],
                seqs: [lastSeq[meter0], lastSeq[meter1]],
                registers: [productionRegister[meter0], productionRegister[meter1]],
                assetIds: [asset0, asset1]
            })
        );

        bytes4[] memory selectors = new bytes4[](6);
        selectors[0] = AssetHandler.produce.selector;
        selectors[1] = AssetHandler.claim.selector;
        selectors[2] = AssetHandler.transferShares.selector;
        selectors[3] = AssetHandler.toggleFraction.selector;
        selectors[4] = AssetHandler.transferNft.selector;
        selectors[5] = AssetHandler.recycle.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// The registry holds exactly what its holders can claim plus the carries: no credit lost or created.
    function invariant_balanceEqualsClaimablePlusCarry() public view {
        uint256 books;
        uint256 count = nft.assetCount();
        for (uint256 assetId = 1; assetId <= count; ++assetId) {
            books += _claimable(assetId) + nft.getDistribution(assetId).carryWh;
        }
        assertEq(token.balanceOf(address(nft)), books);
    }

    /// Per asset: Σ claimed + Σ claimable + carry = Σ attributed, and SmartMeter's count agrees.
    function invariant_everyAttributedCreditIsClaimedClaimableOrCarried() public view {
        uint256 count = nft.assetCount();
        for (uint256 assetId = 1; assetId <= count; ++assetId) {
            IEnergyAssetNFT.Distribution memory d = nft.getDistribution(assetId);
            assertEq(handler.claimed(assetId) + _claimable(assetId) + d.carryWh, handler.attributed(assetId));
            assertEq(d.lifetimeCreditedWh, handler.attributed(assetId));
        }
    }

    /// Shares add up, and the carry is always less than one credit per share.
    function invariant_sharesAddUpAndCarryIsBelowOnePerShare() public view {
        uint256 count = nft.assetCount();
        for (uint256 assetId = 1; assetId <= count; ++assetId) {
            uint256 held;
            for (uint256 i; i < 3; ++i) {
                held += nft.sharesOf(assetId, handler.holderAt(i));
            }
            assertEq(held, nft.totalShares(assetId));
            assertEq(nft.sharesOf(assetId, address(nft)), 0);
            IEnergyAssetNFT.Distribution memory d = nft.getDistribution(assetId);
            if (d.totalShares == 0) assertEq(d.carryWh, 0);
            else assertLt(d.carryWh, d.totalShares);
        }
    }

    /// Every claim paid what the view promised (plus its share of what it pulled) to the claimer, and every
    /// operation the handler expected to succeed did.
    function invariant_claimsPayWhatTheViewsPromise() public view {
        assertEq(handler.wrongPayments(), 0);
        assertEq(handler.unexpectedReverts(), 0);
    }

    function _claimable(uint256 assetId) internal view returns (uint256 total) {
        for (uint256 i; i < 3; ++i) {
            total += nft.claimableAssetCredits(assetId, handler.holderAt(i));
        }
    }
}
