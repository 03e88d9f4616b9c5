// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Vm} from "forge-std/Vm.sol";
import {ISmartMeter} from "../../contracts/interfaces/ISmartMeter.sol";

/// @dev Builds and signs readings the way a meter device does, computing the EIP-712 digest from the
/// spec (not from the contract), so a wrong type hash or domain in the contract fails the tests.
library ReadingSigner {
    Vm private constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant READING_TYPEHASH = keccak256(
        "Reading(uint64 meterId,uint64 seq,uint64 timestamp,uint64 productionWh,uint64 consumptionWh,uint32 voltage_mV,uint32 frequency_mHz)"
    );

    function digest(ISmartMeter.Reading memory r, address verifyingContract, uint256 chainId)
        internal
        pure
        returns (bytes32)
    {
        bytes32 domainSeparator = keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("GridX SmartMeter"), keccak256("1"), chainId, verifyingContract)
        );
        bytes32 structHash = keccak256(
            abi.encode(
                READING_TYPEHASH,
                r.meterId,
                r.seq,
                r.timestamp,
                r.productionWh,
                r.consumptionWh,
                r.voltage_mV,
                r.frequency_mHz
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash));
    }

    function sign(uint256 privateKey, ISmartMeter.Reading memory r, address verifyingContract, uint256 chainId)
        internal
        pure
        returns (bytes memory)
    {
        (uint8 v, bytes32 rr, bytes32 s) = VM.sign(privateKey, digest(r, verifyingContract, chainId));
        return abi.encodePacked(rr, s, v);
    }

    function reading(uint64 meterId, uint64 seq, uint64 timestamp, uint64 productionWh, uint64 consumptionWh)
        internal
        pure
        returns (ISmartMeter.Reading memory)
    {
        return ISmartMeter.Reading({
            meterId: meterId,
            seq: seq,
            timestamp: timestamp,
            productionWh: productionWh,
            consumptionWh: consumptionWh,
            voltage_mV: 230_000,
            frequency_mHz: 50_000
        });
    }
}
