// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {EnergyAssetNFT} from "../../contracts/EnergyAssetNFT.sol";
import {IEnergyAssetNFT} from "../../contracts/interfaces/IEnergyAssetNFT.sol";
import {ISmartMeter} from "../../contracts/interfaces/ISmartMeter.sol";
import {GridXFixture} from "./GridXFixture.sol";
import {ReadingSigner} from "./ReadingSigner.sol";

/// @dev The metering layer plus EnergyAssetNFT wired as the asset registry, and helpers that move energy
/// the real way: device-signed readings through `SmartMeter.submitReadings`, credits minted by
/// `SmartMeter.claimCredits` and reported back through `onCreditsClaimed`.
abstract contract EnergyAssetFixture is GridXFixture {
    /// @dev 4 GW: a reading may carry up to ~1.1 GWh per second elapsed, so fuzzed amounts need little time.
    uint32 internal constant BIG_CAPACITY_W = 4_000_000_000;
    uint32 internal constant ARRAY_CAPACITY_W = 12_000;

    EnergyAssetNFT internal nft;
    address internal carol = makeAddr("carol");
    address internal maintainer = makeAddr("maintainer");

    /// @dev What each meter's device last signed.
    mapping(uint64 meterId => uint256 key) internal deviceKeys;
    mapping(uint64 meterId => uint64 seq) internal lastSeq;
    mapping(uint64 meterId => uint64 productionWh) internal productionRegister;

    function setUp() public virtual override {
        super.setUp();
        nft = new EnergyAssetNFT(meter, IERC20(address(token)));
        meter.setAssetRegistry(address(nft));
    }

    /// Registers a big solar meter for `owner` and posts its baseline reading.
    function _newMeter(address owner, uint256 key, string memory serial) internal returns (uint64 meterId) {
        vm.prank(registrar);
        meterId = meter.registerMeter(
            owner, zone, ISmartMeter.MeterKind.SolarProsumer, vm.addr(key), BIG_CAPACITY_W, serial
        );
        deviceKeys[meterId] = key;
        _post(meterId, 1_000_000);
    }

    /// Posts a reading that adds `producedWh` to the meter's production register (no consumption), after
    /// just enough time for the meter's capacity to allow it. The surplus accrues on the meter.
    function _produce(uint64 meterId, uint64 producedWh) internal {
        uint256 seconds_ = (uint256(producedWh) * 3600) / BIG_CAPACITY_W + 1;
        vm.warp(block.timestamp + seconds_);
        _post(meterId, productionRegister[meterId] + producedWh);
    }

    function _post(uint64 meterId, uint64 productionWh) internal {
        uint64 seq = lastSeq[meterId] + 1;
        ISmartMeter.Reading memory r = ReadingSigner.reading(meterId, seq, uint64(block.timestamp), productionWh, 0);
        ISmartMeter.Reading[] memory readings = new ISmartMeter.Reading[](1);
        bytes[] memory signatures = new bytes[](1);
        readings[0] = r;
        signatures[0] = ReadingSigner.sign(deviceKeys[meterId], r, address(meter), block.chainid);
        vm.prank(oracleOperator);
        require(meter.submitReadings(readings, signatures) == 1, "reading rejected");
        lastSeq[meterId] = seq;
        productionRegister[meterId] = productionWh;
    }

    /// Mints the meter's accrued credits to its owner (anyone may); returns how many.
    function _pull(uint64 meterId) internal returns (uint256) {
        uint64[] memory ids = new uint64[](1);
        ids[0] = meterId;
        vm.prank(stranger);
        return meter.claimCredits(ids);
    }

    /// `producedWh` of new credits for the asset behind `meterId`, minted to the registry and attributed.
    function _credit(uint64 meterId, uint64 producedWh) internal {
        _produce(meterId, producedWh);
        _pull(meterId);
    }

    function _mintAsset(address owner, uint64 meterId) internal returns (uint256 assetId) {
        vm.prank(owner);
        assetId = nft.mintAsset(
            meterId, IEnergyAssetNFT.AssetKind.SolarArray, ARRAY_CAPACITY_W, uint64(block.timestamp), "Rooftop array"
        );
    }

    /// Hands the meter to the registry: credits flow to the asset from here on.
    function _deposit(address owner, uint64 meterId) internal {
        vm.prank(owner);
        meter.transferMeterOwnership(meterId, address(nft));
    }

    /// A new meter for `owner`, its asset, and the meter in the registry's custody.
    function _depositedAsset(address owner, uint256 key, string memory serial)
        internal
        returns (uint64 meterId, uint256 assetId)
    {
        meterId = _newMeter(owner, key, serial);
        assetId = _mintAsset(owner, meterId);
        _deposit(owner, meterId);
    }

    function _carry(uint256 assetId) internal view returns (uint64) {
        return nft.getDistribution(assetId).carryWh;
    }
}
