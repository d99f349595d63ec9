// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {PaymentChannels} from "../src/PaymentChannels.sol";
import {Eip712VectorInputs} from "./utils/Eip712Vectors.sol";

/// @notice Checks contracts/testdata/eip712_vectors.json, the EIP-712 test
/// vectors the Go voucher and receipt code is held to, against the contract
/// itself: every value is read from the file, none is written here.
contract Eip712VectorsTest is Eip712VectorInputs {
    string private json;
    PaymentChannels private pc;
    uint256 private key;

    function setUp() public {
        json = vm.readFile(string.concat(vm.projectRoot(), VECTORS_PATH));
        vm.chainId(vm.parseJsonUint(json, ".chainId"));
        pc = _deployChannelsAt(vm.parseJsonAddress(json, ".verifyingContract"));
        key = uint256(vm.parseJsonBytes32(json, ".signerKey"));
    }

    /// @dev Amounts are decimal strings in the file, never JSON numbers.
    function _amount(string memory path) private view returns (uint256) {
        return vm.parseUint(vm.parseJsonString(json, path));
    }

    function _assertSignature(bytes32 digest, string memory path) private view {
        bytes memory sig = vm.parseJsonBytes(json, path);
        vm.assertEq(sig.length, 65, string.concat(path, ": 65 bytes"));
        vm.assertEq(sig, _signature(key, digest), string.concat(path, ": deterministic (RFC 6979) signature"));

        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := mload(add(sig, 32))
            s := mload(add(sig, 64))
            v := byte(0, mload(add(sig, 96)))
        }
        vm.assertTrue(v == 27 || v == 28, string.concat(path, ": v is 27 or 28"));
        vm.assertLe(uint256(s), SECP256K1_ORDER / 2, string.concat(path, ": low s"));
        vm.assertEq(
            ecrecover(digest, v, r, s), vm.parseJsonAddress(json, ".signer"), string.concat(path, ": recovers signer")
        );
    }

    function test_Vectors_SignerMatchesKey() public view {
        vm.assertEq(vm.addr(key), vm.parseJsonAddress(json, ".signer"), "signer is the key's address");
    }

    function test_Vectors_DomainSeparator() public view {
        vm.assertEq(pc.domainSeparator(), vm.parseJsonBytes32(json, ".domainSeparator"), "domainSeparator");
        (,,, uint256 chainId, address verifying,,) = pc.eip712Domain();
        vm.assertEq(chainId, vm.parseJsonUint(json, ".chainId"), "domain chainId");
        vm.assertEq(verifying, vm.parseJsonAddress(json, ".verifyingContract"), "domain verifyingContract");
    }

    function test_Vectors_Voucher() public view {
        bytes32 digest =
            pc.hashVoucher(vm.parseJsonBytes32(json, ".voucher.channelId"), _amount(".voucher.cumulativeAmount"));
        vm.assertEq(digest, vm.parseJsonBytes32(json, ".voucher.digest"), "voucher digest");
        _assertSignature(digest, ".voucher.signature");
    }

    function test_Vectors_Receipt() public view {
        bytes32 id = vm.parseJsonBytes32(json, ".receipt.channelId");
        bytes32 jobId = vm.parseJsonBytes32(json, ".receipt.jobId");
        uint256 cost = _amount(".receipt.cost");
        uint256 charged = _amount(".receipt.cumulativeCharged");
        uint64 inTokens = uint64(vm.parseJsonUint(json, ".receipt.inputTokens"));
        uint64 outTokens = uint64(vm.parseJsonUint(json, ".receipt.outputTokens"));
        bytes32 resultHash = vm.parseJsonBytes32(json, ".receipt.resultHash");

        vm.assertEq(
            pc.hashReceiptStruct(id, jobId, cost, charged, inTokens, outTokens, resultHash),
            vm.parseJsonBytes32(json, ".receipt.structHash"),
            "receipt struct hash"
        );
        bytes32 digest = pc.hashReceipt(id, jobId, cost, charged, inTokens, outTokens, resultHash);
        vm.assertEq(digest, vm.parseJsonBytes32(json, ".receipt.digest"), "receipt digest");
        _assertSignature(digest, ".receipt.signature");
    }

    /// @dev Under the vector's domain, a voucher signed by the vector's key
    /// and packed in the compact form is accepted by claimMany.
    function test_Vectors_KeyClaimsUnderVectorDomain() public {
        address provider = makeAddr("vector-provider");
        address payer = makeAddr("vector-payer");
        uint256 deposit = _amount(".voucher.cumulativeAmount");
        vm.deal(payer, deposit);
        vm.prank(payer);
        bytes32 id = pc.open{value: deposit}(provider, vm.addr(key), address(0), deposit, bytes32(0));

        bytes32 digest = pc.hashVoucher(id, deposit);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        PaymentChannels.Claim[] memory b = new PaymentChannels.Claim[](1);
        b[0] = PaymentChannels.Claim({
            channelId: id,
            voucherAmount: deposit,
            amount: deposit,
            receiptsRoot: vm.parseJsonBytes32(json, ".receipt.structHash"),
            r: r,
            vs: bytes32(uint256(s) | (uint256(v - 27) << 255))
        });
        vm.prank(provider);
        pc.claimMany(b);
        vm.assertEq(provider.balance, deposit, "claimed under the vector's domain");
    }
}
