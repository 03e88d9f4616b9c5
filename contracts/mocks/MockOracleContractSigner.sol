// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

/// @title MockOracleContractSigner
/// @notice Test-only ERC-1271 oracle reporter (the shape of a contract reporter such as FunctionsPriceFeed):
/// it vouches for exactly the digests it was told to approve, whatever the signature bytes.
contract MockOracleContractSigner is IERC1271 {
    mapping(bytes32 digest => bool approved) public approved;

    function approve(bytes32 digest) external {
        approved[digest] = true;
    }

    function isValidSignature(bytes32 digest, bytes calldata) external view returns (bytes4) {
        return approved[digest] ? IERC1271.isValidSignature.selector : bytes4(0xffffffff);
    }
}
