// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IFunctionsClient} from "@chainlink/contracts/src/v0.8/functions/v1_0_0/interfaces/IFunctionsClient.sol";

/// @title MockFunctionsRouter
/// @notice Test-only stand-in for the Chainlink Functions router: records `sendRequest` and lets the test act as
/// the DON by calling the consumer's `handleOracleFulfillment`, with the request's callback gas limit and
/// without reverting when the callback does, as the real router does. No subscriptions, billing or DON.
contract MockFunctionsRouter {
    struct Request {
        address client;
        uint64 subscriptionId;
        bytes data;
        uint16 dataVersion;
        uint32 callbackGasLimit;
        bytes32 donId;
    }

    uint256 public requestCount;
    mapping(bytes32 requestId => Request) private _requests;

    function sendRequest(
        uint64 subscriptionId,
        bytes calldata data,
        uint16 dataVersion,
        uint32 callbackGasLimit,
        bytes32 donId
    ) external returns (bytes32 requestId) {
        requestId = keccak256(abi.encode(address(this), ++requestCount));
        _requests[requestId] = Request(msg.sender, subscriptionId, data, dataVersion, callbackGasLimit, donId);
    }

    function request(bytes32 requestId) external view returns (Request memory) {
        return _requests[requestId];
    }

    /// @dev Calls back the client that sent `requestId` with at most its callback gas limit.
    function fulfill(bytes32 requestId, bytes calldata response, bytes calldata err)
        external
        returns (bool success, uint256 gasUsed)
    {
        Request storage sent = _requests[requestId];
        return _callback(sent.client, sent.callbackGasLimit, requestId, response, err);
    }

    /// @dev Calls back any client with any request id, e.g. one it never sent.
    function fulfillAs(address client, uint32 gasLimit, bytes32 requestId, bytes calldata response, bytes calldata err)
        external
        returns (bool success, uint256 gasUsed)
    {
        return _callback(client, gasLimit, requestId, response, err);
    }

    function _callback(address client, uint32 gasLimit, bytes32 requestId, bytes calldata response, bytes calldata err)
        private
        returns (bool success, uint256 gasUsed)
    {
        uint256 gasBefore = gasleft();
        try IFunctionsClient(client).handleOracleFulfillment{gas: gasLimit}(requestId, response, err) {
            success = true;
        } catch {
            success = false;
        }
        gasUsed = gasBefore - gasleft();
    }
}
