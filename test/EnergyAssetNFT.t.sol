// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {Base64} from "@openzeppelin/contracts/utils/Base64.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {EnergyAssetNFT} from "../contracts/EnergyAssetNFT.sol";
import {EnergyToken} from "../contracts/EnergyToken.sol";
import {SmartMeter} from "../contracts/SmartMeter.sol";
import {IEnergyAssetNFT} from "../contracts/interfaces/IEnergyAssetNFT.sol";
import {ISmartMeter} from "../contracts/interfaces/ISmartMeter.sol";
import {EnergyAssetFixture} from "./utils/EnergyAssetFixture.sol";

/// @dev A stand-in SmartMeter that, asked to mint a meter's credits, re-enters the registry's claim instead.
contract ReentrantMeter {
    EnergyAssetNFT public nft;
    uint256 public assetId;
    address public owner;

    function setOwner(address owner_) external {
        owner = owner_;
    }

    function arm(EnergyAssetNFT nft_, uint256 assetId_) external {
        nft = nft_;
        assetId = assetId_;
    }

    function getMeter(uint64) external view returns (ISmartMeter.Meter memory meter) {
        meter.owner = owner;
        meter.zone = 1;
    }

    function claimCredits(uint64[] calldata) external returns (uint256) {
        return nft.claimAssetCredits(assetId);
    }
}

contract EnergyAssetNFTTest is EnergyAssetFixture {
    using Strings for uint256;

    uint256 internal constant ALICE_KEY = 0xA11CE;
    uint256 internal constant BOB_KEY = 0xB0B;

    uint64 internal solar; // alice's array meter, still hers
    uint256 internal asset; // alice's asset on it, not yet deposited

    function setUp() public override {
        super.setUp();
        solar = _newMeter(alice, ALICE_KEY, "SOL-A");
        asset = _mintAsset(alice, solar);
    }

    // ─────────────────────────────────────────────────────────────── helpers

    /// Alice's asset with its meter deposited and split 50/30/20 between alice, bob and carol.
    function _fractionalized() internal {
        _deposit(alice, solar);
        vm.startPrank(alice);
        nft.fractionalize(asset, 100);
        nft.transferShares(asset, bob, 30);
        nft.transferShares(asset, carol, 20);
        vm.stopPrank();
    }

    function _claim(address account) internal returns (uint256) {
        vm.prank(account);
        return nft.claimAssetCredits(asset);
    }

    // ─────────────────────────────────────────────────────────────── constructor

    function test_constructor_storesWiring() public view {
        assertEq(nft.smartMeter(), address(meter));
        assertEq(nft.energyToken(), address(token));
        assertEq(nft.name(), "GridX Energy Asset");
        assertEq(nft.symbol(), "GXA");
        assertEq(nft.MAX_NAME_LENGTH(), 31);
        assertEq(nft.MAX_DESCRIPTION_LENGTH(), 256);
    }

    function test_constructor_revertsOnInvalidWiring() public {
        IERC20 credits = IERC20(address(token));
        vm.expectRevert(IEnergyAssetNFT.EnergyAssetNFTInvalidWiring.selector);
        new EnergyAssetNFT(ISmartMeter(address(0)), credits);
        vm.expectRevert(IEnergyAssetNFT.EnergyAssetNFTInvalidWiring.selector);
        new EnergyAssetNFT(meter, IERC20(address(0)));
        // A token some other registry mints.
        SmartMeter otherMeter = new SmartMeter(address(manager), grid, FUTURE_SKEW);
        EnergyToken otherToken = new EnergyToken(otherMeter);
        vm.expectRevert(IEnergyAssetNFT.EnergyAssetNFTInvalidWiring.selector);
        new EnergyAssetNFT(meter, IERC20(address(otherToken)));
    }

    // ─────────────────────────────────────────────────────────────── mintAsset

    function test_mintAsset_storesAndEmits() public {
        uint64 wind = _newMeter(bob, BOB_KEY, "WND-B");
        uint64 commissioned = uint64(block.timestamp - 400 days);
        vm.expectEmit(address(nft));
        emit IEnergyAssetNFT.AssetMinted(
            2, wind, bob, IEnergyAssetNFT.AssetKind.WindTurbine, zone, 2_500_000, commissioned, "Hill turbine"
        );
        vm.prank(bob);
        uint256 id = nft.mintAsset(wind, IEnergyAssetNFT.AssetKind.WindTurbine, 2_500_000, commissioned, "Hill turbine");

        assertEq(id, 2);
        assertEq(nft.assetCount(), 2);
        assertEq(nft.ownerOf(id), bob);
        assertEq(nft.assetOfMeter(wind), id);
        IEnergyAssetNFT.Asset memory a = nft.getAsset(id);
        assertEq(a.meterId, wind);
        assertEq(a.zone, zone);
        assertEq(a.capacityW, 2_500_000);
        assertEq(a.commissionedAt, commissioned);
        assertEq(uint8(a.kind), uint8(IEnergyAssetNFT.AssetKind.WindTurbine));
        assertFalse(a.retired);
        assertEq(a.name, "Hill turbine");
        assertEq(nft.totalShares(id), 1);
        assertEq(nft.sharesOf(id, bob), 1);
        assertEq(nft.sharesOf(id, alice), 0);
        assertEq(nft.controllerOf(id), bob);
        IEnergyAssetNFT.Distribution memory d = nft.getDistribution(id);
        assertEq(d.creditsPerShare, 0);
        assertEq(d.totalShares, 0);
        assertEq(d.carryWh, 0);
        assertEq(d.lifetimeCreditedWh, 0);
    }

    function test_mintAsset_revertsWhenNotMeterOwner() public {
        uint64 wind = _newMeter(bob, BOB_KEY, "WND-B");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTNotMeterOwner.selector, wind, alice));
        nft.mintAsset(wind, IEnergyAssetNFT.AssetKind.WindTurbine, 1, 0, "x");
    }

    function test_mintAsset_revertsOnUnknownMeter() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.SmartMeterUnknownMeter.selector, 99));
        nft.mintAsset(99, IEnergyAssetNFT.AssetKind.SolarArray, 1, 0, "x");
    }

    function test_mintAsset_revertsWhenMeterAlreadyLinked() public {
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTMeterAlreadyLinked.selector, solar, asset)
        );
        nft.mintAsset(solar, IEnergyAssetNFT.AssetKind.Battery, 1, 0, "again");

        // Selling the NFT does not free the meter either: one live asset per meter.
        vm.prank(alice);
        nft.transferFrom(alice, bob, asset);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTMeterAlreadyLinked.selector, solar, asset)
        );
        nft.mintAsset(solar, IEnergyAssetNFT.AssetKind.Battery, 1, 0, "again");
    }

    function test_mintAsset_allowedAgainOnceRedeemed() public {
        vm.prank(alice);
        nft.redeem(asset);
        assertEq(nft.assetOfMeter(solar), 0);
        uint256 next = _mintAsset(alice, solar);
        assertEq(next, asset + 1);
        assertEq(nft.assetOfMeter(solar), next);
    }

    function test_mintAsset_revertsOnZeroCapacity() public {
        uint64 wind = _newMeter(bob, BOB_KEY, "WND-B");
        vm.prank(bob);
        vm.expectRevert(IEnergyAssetNFT.EnergyAssetNFTZeroCapacity.selector);
        nft.mintAsset(wind, IEnergyAssetNFT.AssetKind.WindTurbine, 0, 0, "x");
    }

    function test_mintAsset_commissioningDateBoundaries() public {
        uint64 wind = _newMeter(bob, BOB_KEY, "WND-B");
        uint64 future = uint64(block.timestamp + 1);
        vm.prank(bob);
        vm.expectRevert(
            abi.encodeWithSelector(
                IEnergyAssetNFT.EnergyAssetNFTCommissionedInFuture.selector, future, block.timestamp
            )
        );
        nft.mintAsset(wind, IEnergyAssetNFT.AssetKind.WindTurbine, 1, future, "x");
        vm.prank(bob);
        uint256 id = nft.mintAsset(wind, IEnergyAssetNFT.AssetKind.WindTurbine, 1, uint64(block.timestamp), "x");
        assertEq(nft.getAsset(id).commissionedAt, block.timestamp);
    }

    function test_mintAsset_nameBoundaries() public {
        string memory longest = "0123456789012345678901234567890"; // 31 bytes
        string[6] memory invalid = [
            "",
            string.concat(longest, "1"),
            "The \"big\" one",
            "back\\slash",
            "line\nbreak",
            "tab\there"
        ];
        for (uint256 i; i < invalid.length; ++i) {
            uint64 id = _newMeter(bob, BOB_KEY + i, string.concat("BAD-", i.toString()));
            vm.prank(bob);
            vm.expectRevert(abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTInvalidName.selector, invalid[i]));
            nft.mintAsset(id, IEnergyAssetNFT.AssetKind.Battery, 1, 0, invalid[i]);
        }
        string[3] memory valid = [longest, "Bob's array #2 (south roof)", unicode"Säule Nord ☀"];
        for (uint256 i; i < valid.length; ++i) {
            uint64 id = _newMeter(bob, BOB_KEY + 100 + i, string.concat("OK-", i.toString()));
            vm.prank(bob);
            uint256 assetId = nft.mintAsset(id, IEnergyAssetNFT.AssetKind.Battery, 1, 0, valid[i]);
            assertEq(nft.getAsset(assetId).name, valid[i]);
        }
    }

    // ─────────────────────────────────────────────────────────────── credits through SmartMeter

    function test_deposit_paysEarlierCreditsToThePreviousOwner() public {
        _produce(solar, 700);
        _deposit(alice, solar); // SmartMeter pays alice what the meter earned while it was hers
        assertEq(token.balanceOf(alice), 700);
        assertEq(token.balanceOf(address(nft)), 0);
        assertEq(nft.getDistribution(asset).lifetimeCreditedWh, 0);
    }

    function test_onCreditsClaimed_attributesWhatSmartMeterMints() public {
        _deposit(alice, solar);
        _produce(solar, 1_234);
        vm.expectEmit(address(nft));
        emit IEnergyAssetNFT.CreditsAttributed(asset, solar, 1_234, 1_234, 0);
        assertEq(_pull(solar), 1_234);

        assertEq(token.balanceOf(address(nft)), 1_234);
        assertEq(nft.getDistribution(asset).lifetimeCreditedWh, 1_234);
        assertEq(nft.claimableAssetCredits(asset, alice), 1_234);
        assertEq(nft.claimableAssetCredits(asset, bob), 0);
    }

    function test_onCreditsClaimed_revertsForAnyCallerButSmartMeter() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTCallerNotSmartMeter.selector, alice));
        nft.onCreditsClaimed(solar, 1);
    }

    function test_onCreditsClaimed_revertsForUnlinkedMeter() public {
        // A meter handed to the registry without an asset: SmartMeter keeps its credits rather than mint them
        // here where nobody could claim them.
        uint64 stray = _newMeter(bob, BOB_KEY, "STRAY");
        _deposit(bob, stray);
        _produce(stray, 10);
        uint64[] memory ids = new uint64[](1);
        ids[0] = stray;
        vm.expectRevert(abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTUnlinkedMeter.selector, stray));
        meter.claimCredits(ids);
        assertEq(meter.claimableCredits(stray), 10);
    }

    // ─────────────────────────────────────────────────────────────── claimAssetCredits

    function test_claimAssetCredits_pullsFromSmartMeterAndPays() public {
        _deposit(alice, solar);
        _produce(solar, 5_000); // earned, not yet minted
        vm.expectEmit(address(nft));
        emit IEnergyAssetNFT.AssetCreditsClaimed(asset, alice, 5_000);
        assertEq(_claim(alice), 5_000);

        assertEq(token.balanceOf(alice), 5_000);
        assertEq(token.balanceOf(address(nft)), 0);
        assertEq(meter.claimableCredits(solar), 0);
        assertEq(nft.claimableAssetCredits(asset, alice), 0);
    }

    function test_claimAssetCredits_revertsWithNothingToClaim() public {
        _deposit(alice, solar);
        vm.expectRevert(abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTNothingToClaim.selector, asset, bob));
        _claim(bob);
        _credit(solar, 10);
        _claim(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTNothingToClaim.selector, asset, alice));
        _claim(alice);
    }

    function test_claimAssetCredits_revertsForUnknownAsset() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTUnknownAsset.selector, 7));
        nft.claimAssetCredits(7);
    }

    function test_claimAssetCredits_paysAttributedCreditsWhileSystemPaused() public {
        _deposit(alice, solar);
        _credit(solar, 300);
        _produce(solar, 50); // earned but SmartMeter will not mint it while paused
        vm.prank(guardian);
        grid.pause();

        assertEq(_claim(alice), 300);
        assertEq(meter.claimableCredits(solar), 50);
    }

    function test_claimAssetCredits_bubblesOtherPullFailures() public {
        _deposit(alice, solar);
        _credit(solar, 300);
        bytes memory failure = abi.encodeWithSelector(ISmartMeter.SmartMeterEnergyTokenNotSet.selector);
        vm.mockCallRevert(address(meter), abi.encodeWithSelector(ISmartMeter.claimCredits.selector), failure);
        vm.prank(alice);
        vm.expectRevert(failure);
        nft.claimAssetCredits(asset);
    }

    function test_claimAssetCredits_cannotBeReenteredThroughThePull() public {
        ReentrantMeter hostile = new ReentrantMeter();
        EnergyToken hostileToken = new EnergyToken(ISmartMeter(address(hostile)));
        EnergyAssetNFT registry = new EnergyAssetNFT(ISmartMeter(address(hostile)), IERC20(address(hostileToken)));
        hostile.setOwner(alice);
        vm.prank(alice);
        uint256 id = registry.mintAsset(1, IEnergyAssetNFT.AssetKind.SolarArray, 1, 0, "x");
        hostile.arm(registry, id);
        vm.prank(alice);
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        registry.claimAssetCredits(id);
    }

    function test_claimAssetCredits_outsideCustodyPaysOnlyAttributedCredits() public {
        // Never deposited: the pull mints to alice as the meter's owner and nothing is attributed.
        _produce(solar, 80);
        vm.expectRevert(abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTNothingToClaim.selector, asset, alice));
        _claim(alice);
        _pull(solar);
        assertEq(token.balanceOf(alice), 80);
    }

    // ─────────────────────────────────────────────────────────────── NFT transfers (whole asset)

    function test_transfer_wholeAssetKeepsEarlierCreditsWithTheSeller() public {
        _deposit(alice, solar);
        _credit(solar, 1_000);
        vm.prank(alice);
        nft.transferFrom(alice, bob, asset);
        _credit(solar, 400);

        assertEq(nft.sharesOf(asset, alice), 0);
        assertEq(nft.sharesOf(asset, bob), 1);
        assertEq(nft.claimableAssetCredits(asset, alice), 1_000);
        assertEq(nft.claimableAssetCredits(asset, bob), 400);
        assertEq(_claim(alice), 1_000);
        assertEq(_claim(bob), 400);
    }

    function test_transfer_toSelfKeepsCredits() public {
        _deposit(alice, solar);
        _credit(solar, 90);
        vm.prank(alice);
        nft.transferFrom(alice, alice, asset);
        assertEq(nft.claimableAssetCredits(asset, alice), 90);
    }

    function test_transfer_revertsIntoTheRegistry() public {
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTInvalidRecipient.selector, address(nft))
        );
        nft.transferFrom(alice, address(nft), asset);
    }

    function test_transfer_buyerGetsCreditsMintedAfterTheSale() public {
        // Credits earned but not yet minted belong to whoever holds the asset when SmartMeter mints them.
        _deposit(alice, solar);
        _produce(solar, 250);
        vm.prank(alice);
        nft.transferFrom(alice, bob, asset);
        assertEq(_claim(bob), 250);
    }

    // ─────────────────────────────────────────────────────────────── fractionalize

    function test_fractionalize_escrowsTheNftAndCreatesShares() public {
        _deposit(alice, solar);
        _credit(solar, 600);
        vm.expectEmit(address(nft));
        emit IEnergyAssetNFT.AssetFractionalized(asset, alice, 1_000);
        vm.expectEmit(address(nft));
        emit IEnergyAssetNFT.SharesTransferred(asset, address(0), alice, 1_000);
        vm.prank(alice);
        nft.fractionalize(asset, 1_000);

        assertEq(nft.ownerOf(asset), address(nft));
        assertEq(nft.totalShares(asset), 1_000);
        assertEq(nft.sharesOf(asset, alice), 1_000);
        assertEq(nft.sharesOf(asset, address(nft)), 0);
        assertEq(nft.getDistribution(asset).totalShares, 1_000);
        assertEq(nft.controllerOf(asset), alice);
        assertEq(nft.claimableAssetCredits(asset, alice), 600); // settled before the split
        _credit(solar, 2_000);
        assertEq(nft.claimableAssetCredits(asset, alice), 2_600);
    }

    function test_fractionalize_revertsOnInvalidShareCount() public {
        _deposit(alice, solar);
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTInvalidShareCount.selector, 0));
        nft.fractionalize(asset, 0);
        vm.expectRevert(abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTInvalidShareCount.selector, 1));
        nft.fractionalize(asset, 1);
        nft.fractionalize(asset, type(uint64).max);
        vm.stopPrank();
        assertEq(nft.sharesOf(asset, alice), type(uint64).max);
    }

    function test_fractionalize_revertsWhenNotHolder() public {
        _deposit(alice, solar);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTNotAssetHolder.selector, asset, bob));
        nft.fractionalize(asset, 10);
    }

    function test_fractionalize_revertsWhenAlreadyFractionalized() public {
        _fractionalized();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTFractionalized.selector, asset));
        nft.fractionalize(asset, 10);
    }

    function test_fractionalize_revertsWhenMeterNotInCustody() public {
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTMeterNotInCustody.selector, solar, alice)
        );
        nft.fractionalize(asset, 10);
    }

    // ─────────────────────────────────────────────────────────────── shares

    function test_transferShares_movesSharesAndSettlesBothSides() public {
        _fractionalized(); // alice 50, bob 30, carol 20
        _credit(solar, 1_000); // 10 per share
        vm.expectEmit(address(nft));
        emit IEnergyAssetNFT.SharesTransferred(asset, bob, carol, 10);
        vm.prank(bob);
        nft.transferShares(asset, carol, 10); // bob 20, carol 30
        _credit(solar, 500); // 5 per share

        assertEq(nft.sharesOf(asset, bob), 20);
        assertEq(nft.sharesOf(asset, carol), 30);
        assertEq(nft.claimableAssetCredits(asset, alice), 500 + 250);
        assertEq(nft.claimableAssetCredits(asset, bob), 300 + 100);
        assertEq(nft.claimableAssetCredits(asset, carol), 200 + 150);
        assertEq(_claim(bob), 400);
        assertEq(token.balanceOf(bob), 400);
    }

    function test_transferShares_toSelfChangesNothing() public {
        _fractionalized();
        _credit(solar, 1_000);
        vm.prank(bob);
        nft.transferShares(asset, bob, 30);
        assertEq(nft.sharesOf(asset, bob), 30);
        assertEq(nft.claimableAssetCredits(asset, bob), 300);
    }

    function test_transferShares_revertsOnZeroAmount() public {
        _fractionalized();
        vm.prank(bob);
        vm.expectRevert(IEnergyAssetNFT.EnergyAssetNFTZeroAmount.selector);
        nft.transferShares(asset, carol, 0);
    }

    function test_transferShares_revertsOnInvalidRecipient() public {
        _fractionalized();
        vm.startPrank(bob);
        vm.expectRevert(abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTInvalidRecipient.selector, address(0)));
        nft.transferShares(asset, address(0), 1);
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTInvalidRecipient.selector, address(nft))
        );
        nft.transferShares(asset, address(nft), 1);
        vm.stopPrank();
    }

    function test_transferShares_revertsOnInsufficientShares() public {
        _fractionalized();
        vm.prank(bob);
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTInsufficientShares.selector, asset, bob, 30, 31)
        );
        nft.transferShares(asset, carol, 31);
    }

    function test_transferShares_revertsOnWholeAsset() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTNotFractionalized.selector, asset));
        nft.transferShares(asset, bob, 1);
    }

    function test_transferSharesFrom_spendsTheAllowance() public {
        _fractionalized();
        vm.expectEmit(address(nft));
        emit IEnergyAssetNFT.SharesApproved(asset, bob, stranger, 25);
        vm.prank(bob);
        nft.approveShares(asset, stranger, 25);
        vm.prank(stranger);
        nft.transferSharesFrom(asset, bob, carol, 10);

        assertEq(nft.shareAllowance(asset, bob, stranger), 15);
        assertEq(nft.sharesOf(asset, bob), 20);
        assertEq(nft.sharesOf(asset, carol), 30);
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(
                IEnergyAssetNFT.EnergyAssetNFTInsufficientShareAllowance.selector, asset, bob, stranger, 15, 16
            )
        );
        nft.transferSharesFrom(asset, bob, carol, 16);
    }

    function test_transferSharesFrom_unlimitedAllowanceIsNotSpent() public {
        _fractionalized();
        vm.prank(carol);
        nft.approveShares(asset, stranger, type(uint64).max);
        vm.prank(stranger);
        nft.transferSharesFrom(asset, carol, alice, 20);
        assertEq(nft.shareAllowance(asset, carol, stranger), type(uint64).max);
        assertEq(nft.sharesOf(asset, alice), 70);
    }

    // ─────────────────────────────────────────────────────────────── distribution

    function test_distribution_carryRollsIntoTheNextAttribution() public {
        _deposit(alice, solar);
        vm.startPrank(alice);
        nft.fractionalize(asset, 3);
        nft.transferShares(asset, bob, 1);
        nft.transferShares(asset, carol, 1);
        vm.stopPrank();

        _credit(solar, 10); // 3 each, 1 carried
        IEnergyAssetNFT.Distribution memory d = nft.getDistribution(asset);
        assertEq(d.creditsPerShare, 3);
        assertEq(d.carryWh, 1);
        assertEq(token.balanceOf(address(nft)), 10);

        _produce(solar, 2);
        vm.expectEmit(address(nft));
        emit IEnergyAssetNFT.CreditsAttributed(asset, solar, 2, 4, 0);
        _pull(solar); // (2 + 1) / 3 = 1 each, nothing carried
        assertEq(nft.claimableAssetCredits(asset, alice), 4);
        assertEq(nft.claimableAssetCredits(asset, bob), 4);
        assertEq(nft.claimableAssetCredits(asset, carol), 4);
        assertEq(_carry(asset), 0);
    }

    function test_distribution_dustBelowOneCreditPerShareIsCarried() public {
        _fractionalized(); // 100 shares
        _credit(solar, 99);
        assertEq(nft.getDistribution(asset).creditsPerShare, 0);
        assertEq(_carry(asset), 99);
        assertEq(nft.claimableAssetCredits(asset, alice), 0);
        _credit(solar, 1);
        assertEq(nft.getDistribution(asset).creditsPerShare, 1);
        assertEq(_carry(asset), 0);
        assertEq(nft.claimableAssetCredits(asset, alice), 50);
    }

    // ─────────────────────────────────────────────────────────────── defractionalize

    function test_defractionalize_returnsTheNftAndTheCarry() public {
        _fractionalized();
        _credit(solar, 1_099); // 10 per share, 99 carried
        vm.prank(bob);
        nft.transferShares(asset, alice, 30);
        vm.prank(carol);
        nft.transferShares(asset, alice, 20);

        vm.expectEmit(address(nft));
        emit IEnergyAssetNFT.SharesTransferred(asset, alice, address(0), 100);
        vm.expectEmit(address(nft));
        emit IEnergyAssetNFT.AssetDefractionalized(asset, alice, 99);
        vm.prank(alice);
        nft.defractionalize(asset);

        assertEq(nft.ownerOf(asset), alice);
        assertEq(nft.totalShares(asset), 1);
        assertEq(nft.sharesOf(asset, alice), 1);
        assertEq(nft.getDistribution(asset).totalShares, 0);
        assertEq(_carry(asset), 0);
        assertEq(nft.controllerOf(asset), alice);
        assertEq(nft.claimableAssetCredits(asset, alice), 500 + 99);
        assertEq(nft.claimableAssetCredits(asset, bob), 300);
        assertEq(nft.claimableAssetCredits(asset, carol), 200);

        _credit(solar, 7); // whole again: everything to the NFT holder
        assertEq(nft.claimableAssetCredits(asset, alice), 606);
        assertEq(_claim(alice) + _claim(bob) + _claim(carol), 1_106);
        assertEq(token.balanceOf(address(nft)), 0);
    }

    function test_defractionalize_revertsOnWholeAsset() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTNotFractionalized.selector, asset));
        nft.defractionalize(asset);
    }

    function test_defractionalize_revertsWithoutEveryShare() public {
        _fractionalized();
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTInsufficientShares.selector, asset, alice, 50, 100)
        );
        nft.defractionalize(asset);
    }

    function test_defractionalize_byABuyerOfEveryShare() public {
        _fractionalized();
        vm.prank(alice);
        nft.transferShares(asset, bob, 50);
        vm.prank(carol);
        nft.transferShares(asset, bob, 20);
        vm.prank(bob);
        nft.defractionalize(asset);
        assertEq(nft.ownerOf(asset), bob);
        assertEq(nft.controllerOf(asset), bob);
    }

    // ─────────────────────────────────────────────────────────────── redeem

    function test_redeem_returnsTheMeterBurnsAndPays() public {
        _deposit(alice, solar);
        _credit(solar, 100);
        _produce(solar, 40); // earned, minted during the redemption

        vm.expectEmit(address(nft));
        emit IEnergyAssetNFT.CreditsAttributed(asset, solar, 40, 140, 0);
        vm.expectEmit(address(nft));
        emit IEnergyAssetNFT.AssetRedeemed(asset, solar, alice);
        vm.expectEmit(address(nft));
        emit IEnergyAssetNFT.AssetCreditsClaimed(asset, alice, 140);
        vm.prank(alice);
        assertEq(nft.redeem(asset), 140);

        assertEq(meter.getMeter(solar).owner, alice);
        assertEq(token.balanceOf(alice), 140);
        assertEq(token.balanceOf(address(nft)), 0);
        assertEq(nft.assetOfMeter(solar), 0);
        assertTrue(nft.getAsset(asset).retired);
        assertEq(nft.totalShares(asset), 0);
        assertEq(nft.sharesOf(asset, alice), 0);
        assertEq(nft.controllerOf(asset), address(0));
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, asset));
        nft.ownerOf(asset);

        _produce(solar, 5); // the meter pays alice directly again
        _pull(solar);
        assertEq(token.balanceOf(alice), 145);
    }

    function test_redeem_leavesEarlierHoldersTheirCredits() public {
        _deposit(alice, solar);
        _credit(solar, 100);
        vm.prank(alice);
        nft.transferFrom(alice, bob, asset);
        _credit(solar, 30);
        vm.prank(bob);
        assertEq(nft.redeem(asset), 30);
        assertEq(meter.getMeter(solar).owner, bob);
        // Retired: alice's credits are still hers, with no pull from a meter the asset no longer has.
        assertEq(_claim(alice), 100);
    }

    function test_redeem_outsideCustodyOnlyRetires() public {
        vm.prank(alice);
        assertEq(nft.redeem(asset), 0);
        assertEq(meter.getMeter(solar).owner, alice);
        assertTrue(nft.getAsset(asset).retired);
    }

    function test_redeem_revertsWhenFractionalized() public {
        _fractionalized();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTFractionalized.selector, asset));
        nft.redeem(asset);
    }

    function test_redeem_revertsWhenNotHolder() public {
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTNotAssetHolder.selector, asset, bob));
        nft.redeem(asset);
    }

    function test_redeem_revertsWhileSystemPausedInCustody() public {
        _deposit(alice, solar);
        vm.prank(guardian);
        grid.pause();
        vm.prank(alice);
        vm.expectRevert(ISmartMeter.SmartMeterSystemPaused.selector);
        nft.redeem(asset);
    }

    // ─────────────────────────────────────────────────────────────── maintenance

    function test_setMaintainer_approvesAndRevokes() public {
        vm.expectEmit(address(nft));
        emit IEnergyAssetNFT.MaintainerSet(asset, alice, maintainer, true);
        vm.prank(alice);
        nft.setMaintainer(asset, maintainer, true);
        assertTrue(nft.isMaintainer(asset, maintainer));

        vm.expectEmit(address(nft));
        emit IEnergyAssetNFT.MaintainerSet(asset, alice, maintainer, false);
        vm.prank(alice);
        nft.setMaintainer(asset, maintainer, false);
        assertFalse(nft.isMaintainer(asset, maintainer));
    }

    function test_setMaintainer_revertsForNonController() public {
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTNotController.selector, asset, bob));
        nft.setMaintainer(asset, maintainer, true);
    }

    function test_setMaintainer_revertsOnZeroMaintainer() public {
        vm.prank(alice);
        vm.expectRevert(IEnergyAssetNFT.EnergyAssetNFTZeroMaintainer.selector);
        nft.setMaintainer(asset, address(0), true);
    }

    function test_recordMaintenance_appendsAndEmits() public {
        vm.prank(alice);
        nft.setMaintainer(asset, maintainer, true);
        vm.warp(block.timestamp + 3 days);
        vm.expectEmit(address(nft));
        emit IEnergyAssetNFT.MaintenanceRecorded(
            asset, 0, maintainer, IEnergyAssetNFT.MaintenanceKind.Cleaning, "Panels cleaned"
        );
        vm.prank(maintainer);
        assertEq(nft.recordMaintenance(asset, IEnergyAssetNFT.MaintenanceKind.Cleaning, "Panels cleaned"), 0);
        vm.prank(maintainer);
        assertEq(nft.recordMaintenance(asset, IEnergyAssetNFT.MaintenanceKind.Repair, "ipfs://bafy-report"), 1);

        assertEq(nft.maintenanceCount(asset), 2);
        IEnergyAssetNFT.MaintenanceRecord memory r = nft.maintenanceRecord(asset, 0);
        assertEq(r.timestamp, block.timestamp);
        assertEq(r.maintainer, maintainer);
        assertEq(uint8(r.kind), uint8(IEnergyAssetNFT.MaintenanceKind.Cleaning));
        assertEq(r.description, "Panels cleaned");
        assertEq(nft.maintenanceRecord(asset, 1).description, "ipfs://bafy-report");
    }

    function test_recordMaintenance_revertsForUnapprovedOrRevoked() public {
        vm.prank(maintainer);
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTNotMaintainer.selector, asset, maintainer)
        );
        nft.recordMaintenance(asset, IEnergyAssetNFT.MaintenanceKind.Inspection, "x");

        vm.startPrank(alice);
        nft.setMaintainer(asset, maintainer, true);
        nft.setMaintainer(asset, maintainer, false);
        vm.stopPrank();
        vm.prank(maintainer);
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTNotMaintainer.selector, asset, maintainer)
        );
        nft.recordMaintenance(asset, IEnergyAssetNFT.MaintenanceKind.Inspection, "x");
    }

    function test_recordMaintenance_descriptionBoundaries() public {
        vm.prank(alice);
        nft.setMaintainer(asset, maintainer, true);
        bytes memory longest = new bytes(256);
        for (uint256 i; i < longest.length; ++i) {
            longest[i] = "a";
        }
        vm.startPrank(maintainer);
        nft.recordMaintenance(asset, IEnergyAssetNFT.MaintenanceKind.Other, string(longest));
        vm.expectRevert(abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTInvalidDescription.selector, 0));
        nft.recordMaintenance(asset, IEnergyAssetNFT.MaintenanceKind.Other, "");
        vm.expectRevert(abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTInvalidDescription.selector, 257));
        nft.recordMaintenance(asset, IEnergyAssetNFT.MaintenanceKind.Other, string.concat(string(longest), "a"));
        vm.stopPrank();
    }

    function test_maintenanceRecord_revertsOutOfRange() public {
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTRecordOutOfRange.selector, asset, 0, 0)
        );
        nft.maintenanceRecord(asset, 0);
    }

    function test_maintainers_doNotPassToANewHolder() public {
        vm.prank(alice);
        nft.setMaintainer(asset, maintainer, true);
        vm.prank(alice);
        nft.transferFrom(alice, bob, asset);
        assertEq(nft.controllerOf(asset), bob);
        assertFalse(nft.isMaintainer(asset, maintainer));
        vm.prank(maintainer);
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTNotMaintainer.selector, asset, maintainer)
        );
        nft.recordMaintenance(asset, IEnergyAssetNFT.MaintenanceKind.Inspection, "x");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTNotController.selector, asset, alice));
        nft.setMaintainer(asset, maintainer, true);

        vm.prank(bob);
        nft.setMaintainer(asset, maintainer, true);
        assertTrue(nft.isMaintainer(asset, maintainer));
    }

    function test_maintainers_stayWithTheCuratorWhileFractionalized() public {
        vm.prank(alice);
        nft.setMaintainer(asset, maintainer, true);
        _fractionalized();
        assertEq(nft.controllerOf(asset), alice);
        assertTrue(nft.isMaintainer(asset, maintainer));
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTNotController.selector, asset, bob));
        nft.setMaintainer(asset, bob, true);
        vm.prank(maintainer);
        nft.recordMaintenance(asset, IEnergyAssetNFT.MaintenanceKind.Inspection, "Quarterly check");
        assertEq(nft.maintenanceCount(asset), 1);
    }

    // ─────────────────────────────────────────────────────────────── views

    function test_productionOn_readsSmartMetersDailyProduction() public {
        uint32 day = uint32(block.timestamp / 1 days);
        _produce(solar, 3_000);
        _produce(solar, 1_500);
        assertEq(nft.productionOn(asset, day), meter.getDailyProduction(solar, day));
        assertEq(nft.productionOn(asset, day), 4_500);
        assertEq(nft.productionOn(asset, day - 1), 0);
    }

    function test_views_revertForUnknownAsset() public {
        bytes memory unknown = abi.encodeWithSelector(IEnergyAssetNFT.EnergyAssetNFTUnknownAsset.selector, 9);
        vm.expectRevert(unknown);
        nft.getAsset(9);
        vm.expectRevert(unknown);
        nft.getDistribution(9);
        vm.expectRevert(unknown);
        nft.productionOn(9, 0);
        assertEq(nft.totalShares(9), 0);
        assertEq(nft.sharesOf(9, address(0)), 0);
        assertEq(nft.controllerOf(9), address(0));
        assertFalse(nft.isMaintainer(9, maintainer));
    }

    function test_tokenURI_isOnChainJson() public {
        _fractionalized();
        _credit(solar, 4_200);
        vm.prank(alice);
        nft.setMaintainer(asset, maintainer, true);
        vm.prank(maintainer);
        nft.recordMaintenance(asset, IEnergyAssetNFT.MaintenanceKind.Inspection, "ok");

        string memory json = _expectedJson(asset, "Solar array", 12_000, 4_200, 1, 100);
        assertEq(nft.tokenURI(asset), string.concat("data:application/json;base64,", Base64.encode(bytes(json))));
    }

    function test_tokenURI_namesEveryKindOfWholeAsset() public {
        string[2] memory kinds = ["Wind turbine", "Battery"];
        for (uint256 i; i < kinds.length; ++i) {
            uint64 id = _newMeter(bob, BOB_KEY + i, string.concat("K-", i.toString()));
            vm.prank(bob);
            uint256 assetId = nft.mintAsset(id, IEnergyAssetNFT.AssetKind(i + 1), 1, 0, "Rooftop array");
            string memory json = _expectedJson(assetId, kinds[i], 1, 0, 0, 1);
            assertEq(nft.tokenURI(assetId), string.concat("data:application/json;base64,", Base64.encode(bytes(json))));
        }
    }

    function test_tokenURI_revertsForNonexistentToken() public {
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 9));
        nft.tokenURI(9);
    }

    /// The metadata an asset named "Rooftop array" should carry, written out from the spec.
    function _expectedJson(
        uint256 assetId,
        string memory kind,
        uint256 capacityW,
        uint256 lifetimeWh,
        uint256 records,
        uint256 shares
    ) internal view returns (string memory) {
        IEnergyAssetNFT.Asset memory a = nft.getAsset(assetId);
        string memory head = string.concat(
            "{\"name\":\"Rooftop array\",\"description\":\"GridX energy asset #",
            assetId.toString(),
            "\",\"attributes\":[{\"trait_type\":\"Kind\",\"value\":\"",
            kind,
            "\"},{\"trait_type\":\"Capacity (W)\",\"value\":",
            capacityW.toString(),
            "},{\"trait_type\":\"Zone\",\"value\":",
            uint256(a.zone).toString(),
            "},{\"trait_type\":\"Meter\",\"value\":",
            uint256(a.meterId).toString()
        );
        return string.concat(
            head,
            "},{\"trait_type\":\"Commissioned\",\"display_type\":\"date\",\"value\":",
            uint256(a.commissionedAt).toString(),
            "},{\"trait_type\":\"Lifetime credits (Wh)\",\"value\":",
            lifetimeWh.toString(),
            "},{\"trait_type\":\"Maintenance records\",\"value\":",
            records.toString(),
            "},{\"trait_type\":\"Shares\",\"value\":",
            shares.toString(),
            "}]}"
        );
    }

    // ─────────────────────────────────────────────────────────────── fuzz

    /// Every attribution splits exactly: after any sequence, creditsPerShare = ⌊Σ/N⌋ and carry = Σ mod N, so
    /// holder i is owed exactly shares_i × ⌊Σ/N⌋ and nothing is lost or created.
    function testFuzz_distribution_isExact(uint64 total, uint64 bobShares, uint64 carolShares, uint40[4] memory amounts)
        public
    {
        total = uint64(bound(total, 2, type(uint64).max));
        bobShares = uint64(bound(bobShares, 0, total - 1));
        carolShares = uint64(bound(carolShares, 0, total - 1 - bobShares));
        _deposit(alice, solar);
        vm.startPrank(alice);
        nft.fractionalize(asset, total);
        if (bobShares != 0) nft.transferShares(asset, bob, bobShares);
        if (carolShares != 0) nft.transferShares(asset, carol, carolShares);
        vm.stopPrank();

        uint256 sum;
        for (uint256 i; i < amounts.length; ++i) {
            _credit(solar, amounts[i]);
            sum += amounts[i];
        }
        IEnergyAssetNFT.Distribution memory d = nft.getDistribution(asset);
        assertEq(d.creditsPerShare, sum / total);
        assertEq(d.carryWh, sum % total);
        assertEq(d.lifetimeCreditedWh, sum);
        uint256 aliceOwed = nft.claimableAssetCredits(asset, alice);
        uint256 bobOwed = nft.claimableAssetCredits(asset, bob);
        uint256 carolOwed = nft.claimableAssetCredits(asset, carol);
        assertEq(aliceOwed, uint256(total - bobShares - carolShares) * (sum / total));
        assertEq(bobOwed, uint256(bobShares) * (sum / total));
        assertEq(carolOwed, uint256(carolShares) * (sum / total));
        assertEq(aliceOwed + bobOwed + carolOwed + d.carryWh, sum);
        assertEq(token.balanceOf(address(nft)), sum);
    }

    /// Share moves between attributions never change what anyone is owed for the past, and the books balance.
    function testFuzz_transferShares_conserveCredits(
        uint64 total,
        uint64 moved,
        uint40 before,
        uint40 afterwards,
        bool claimBetween
    ) public {
        total = uint64(bound(total, 2, 1e15));
        moved = uint64(bound(moved, 1, total));
        _deposit(alice, solar);
        vm.prank(alice);
        nft.fractionalize(asset, total);
        _credit(solar, before);
        uint256 aliceBefore = nft.claimableAssetCredits(asset, alice);
        vm.prank(alice);
        nft.transferShares(asset, bob, moved);
        assertEq(nft.claimableAssetCredits(asset, alice), aliceBefore);
        assertEq(nft.claimableAssetCredits(asset, bob), 0);
        uint256 claimed;
        if (claimBetween && aliceBefore != 0) claimed = _claim(alice);
        _credit(solar, afterwards);

        uint256 owed = nft.claimableAssetCredits(asset, alice) + nft.claimableAssetCredits(asset, bob);
        assertEq(claimed + owed + _carry(asset), uint256(before) + afterwards);
        assertEq(token.balanceOf(address(nft)), owed + _carry(asset));
        assertLt(_carry(asset), total);
    }

    /// A full round trip (split, spread, gather, defractionalize, claim everything) leaves nothing behind.
    function testFuzz_roundTrip_leavesNoDust(uint64 total, uint64 toBob, uint40 first, uint40 second) public {
        total = uint64(bound(total, 2, 1e18));
        toBob = uint64(bound(toBob, 1, total - 1));
        _deposit(alice, solar);
        vm.prank(alice);
        nft.fractionalize(asset, total);
        vm.prank(alice);
        nft.transferShares(asset, bob, toBob);
        _credit(solar, first);
        vm.prank(bob);
        nft.transferShares(asset, alice, toBob);
        _credit(solar, second);
        vm.prank(alice);
        nft.defractionalize(asset);

        uint256 paid;
        if (nft.claimableAssetCredits(asset, alice) != 0) paid += _claim(alice);
        if (nft.claimableAssetCredits(asset, bob) != 0) paid += _claim(bob);
        assertEq(paid, uint256(first) + second);
        assertEq(token.balanceOf(address(nft)), 0);
    }
}

/// Gas of the two bench operations, measured with cold storage: the state is prepared in setUp (its own
/// transaction), so only what the measured call touches is warm. Reported, never asserted.
abstract contract EnergyAssetNFTGasBase is EnergyAssetFixture {
    uint256 internal constant ALICE_KEY = 0xA11CE;
    uint256 internal constant BOB_KEY = 0xB0B;
    uint64 internal solar;
    uint64 internal wind;
    uint256 internal asset;

    function setUp() public virtual override {
        super.setUp();
        (solar, asset) = _depositedAsset(alice, ALICE_KEY, "SOL-A");
        _credit(solar, 10_000);
        vm.prank(alice);
        nft.claimAssetCredits(asset); // alice has claimed before: her position slot is not new
        _produce(solar, 5_000); // earned, pending on the meter
        wind = _newMeter(bob, BOB_KEY, "WND-B");
    }
}

contract EnergyAssetNFTGasTest is EnergyAssetNFTGasBase {
    function test_gas_mintAsset() public {
        vm.prank(bob);
        uint256 gasBefore = gasleft();
        nft.mintAsset(wind, IEnergyAssetNFT.AssetKind.WindTurbine, 2_500_000, 1_700_000_000, "Hill turbine 7");
        emit log_named_uint("gas: mintAsset", gasBefore - gasleft());
    }

    function test_gas_claimAssetCredits_pullingFromSmartMeter() public {
        vm.prank(alice);
        uint256 gasBefore = gasleft();
        uint256 paid = nft.claimAssetCredits(asset);
        emit log_named_uint("gas: claimAssetCredits (one holder, credits pending on the meter)", gasBefore - gasleft());
        assertEq(paid, 5_000);
    }
}

contract EnergyAssetNFTGasAttributedTest is EnergyAssetNFTGasBase {
    function setUp() public override {
        super.setUp();
        _pull(solar); // the credits are already here; the claim's pull finds nothing on the meter
    }

    function test_gas_claimAssetCredits_alreadyAttributed() public {
        vm.prank(alice);
        uint256 gasBefore = gasleft();
        uint256 paid = nft.claimAssetCredits(asset);
        emit log_named_uint("gas: claimAssetCredits (one holder, credits already attributed)", gasBefore - gasleft());
        assertEq(paid, 5_000);
    }
}
