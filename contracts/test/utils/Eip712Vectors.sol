// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./Test.sol";
import {PaymentChannels} from "../../src/PaymentChannels.sol";

/// @notice The inputs of contracts/testdata/eip712_vectors.json, and a
/// script that prints the values forge computes for them:
///
///   forge script test/utils/Eip712Vectors.sol:PrintEip712Vectors
///
/// The JSON file was filled from that output; Vectors.t.sol checks the file
/// against the contract, and the Go side checks its own EIP-712 code
/// against the same file.
abstract contract Eip712VectorInputs is Test {
    string internal constant VECTORS_PATH = "/testdata/eip712_vectors.json";
    string internal constant CHANNELS_ARTIFACT = "PaymentChannels.sol:PaymentChannels";

    uint64 internal constant VECTOR_WITHDRAWAL_DELAY = 3600;
    uint256 internal constant VECTOR_CHAIN_ID = 1337;
    address internal constant VECTOR_CONTRACT = 0x5FbDB2315678afecb367f032d93F642f64180aa3;
    uint256 internal constant VECTOR_KEY = 0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d;

    bytes32 internal constant VECTOR_CHANNEL_ID = keccak256("paynode/vectors/channel");
    uint256 internal constant VECTOR_CUMULATIVE_AMOUNT = 123456789;

    bytes32 internal constant VECTOR_JOB_ID = keccak256("paynode/vectors/job");
    uint256 internal constant VECTOR_COST = 1234;
    uint256 internal constant VECTOR_CUMULATIVE_CHARGED = 99999;
    uint64 internal constant VECTOR_INPUT_TOKENS = 17;
    uint64 internal constant VECTOR_OUTPUT_TOKENS = 42;
    bytes32 internal constant VECTOR_RESULT_HASH = keccak256("paynode/vectors/result");

    /// @dev PaymentChannels with its constructor run at `at`, so the
    /// EIP-712 domain's cached address and chain id are the vector's.
    function _deployChannelsAt(address at) internal returns (PaymentChannels) {
        deployCodeTo(CHANNELS_ARTIFACT, abi.encode(VECTOR_WITHDRAWAL_DELAY), at);
        return PaymentChannels(at);
    }

    /// @dev r || s || v with v = 27 or 28, as eth_sign and go-ethereum's
    /// crypto.Sign (plus 27) produce.
    function _signature(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }
}

contract PrintEip712Vectors is Eip712VectorInputs {
    function run() external {
        vm.chainId(VECTOR_CHAIN_ID);
        PaymentChannels pc = _deployChannelsAt(VECTOR_CONTRACT);

        bytes32 voucherDigest = pc.hashVoucher(VECTOR_CHANNEL_ID, VECTOR_CUMULATIVE_AMOUNT);
        bytes32 receiptStruct = pc.hashReceiptStruct(
            VECTOR_CHANNEL_ID,
            VECTOR_JOB_ID,
            VECTOR_COST,
            VECTOR_CUMULATIVE_CHARGED,
            VECTOR_INPUT_TOKENS,
            VECTOR_OUTPUT_TOKENS,
            VECTOR_RESULT_HASH
        );
        bytes32 receiptDigest = pc.hashReceipt(
            VECTOR_CHANNEL_ID,
            VECTOR_JOB_ID,
            VECTOR_COST,
            VECTOR_CUMULATIVE_CHARGED,
            VECTOR_INPUT_TOKENS,
            VECTOR_OUTPUT_TOKENS,
            VECTOR_RESULT_HASH
        );

        log("chainId", VECTOR_CHAIN_ID);
        log("verifyingContract", vm.toString(address(pc)));
        log("signerKey", vm.toString(bytes32(VECTOR_KEY)));
        log("signer", vm.toString(vm.addr(VECTOR_KEY)));
        log("domainSeparator", vm.toString(pc.domainSeparator()));
        log("voucher.channelId", vm.toString(VECTOR_CHANNEL_ID));
        log("voucher.cumulativeAmount", VECTOR_CUMULATIVE_AMOUNT);
        log("voucher.digest", vm.toString(voucherDigest));
        log("voucher.signature", vm.toString(_signature(VECTOR_KEY, voucherDigest)));
        log("receipt.channelId", vm.toString(VECTOR_CHANNEL_ID));
        log("receipt.jobId", vm.toString(VECTOR_JOB_ID));
        log("receipt.cost", VECTOR_COST);
        log("receipt.cumulativeCharged", VECTOR_CUMULATIVE_CHARGED);
        log("receipt.inputTokens", VECTOR_INPUT_TOKENS);
        log("receipt.outputTokens", VECTOR_OUTPUT_TOKENS);
        log("receipt.resultHash", vm.toString(VECTOR_RESULT_HASH));
        log("receipt.structHash", vm.toString(receiptStruct));
        log("receipt.digest", vm.toString(receiptDigest));
        log("receipt.signature", vm.toString(_signature(VECTOR_KEY, receiptDigest)));
    }
}
