// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {PaymentChannels} from "../src/PaymentChannels.sol";
import {Test} from "./utils/Test.sol";

/// @notice Checks contracts/testdata/merkle_vectors.json, written by the Go
/// receipt Merkle code (contracts/merkle.go), on chain: every proof in it
/// verifies with OpenZeppelin's MerkleProof against its root, tampered ones
/// do not, each root is the documented tree layout, and the receipt leaves
/// are PaymentChannels.hashReceiptStruct. Every value is read from the file.
contract MerkleVectorsTest is Test {
    string private constant VECTORS_PATH = "/testdata/merkle_vectors.json";

    string private json;
    uint256 private caseCount;
    PaymentChannels private pc;

    function setUp() public {
        json = vm.readFile(string.concat(vm.projectRoot(), VECTORS_PATH));
        while (vm.keyExistsJson(json, _case(caseCount))) caseCount++;
        pc = new PaymentChannels(3600);
    }

    // ------------------------------------------------------------- reading

    function _case(uint256 i) private pure returns (string memory) {
        return string.concat(".cases[", vm.toString(i), "]");
    }

    function _name(uint256 c) private view returns (string memory) {
        return vm.parseJsonString(json, string.concat(_case(c), ".name"));
    }

    function _leaves(uint256 c) private view returns (bytes32[] memory) {
        return vm.parseJsonBytes32Array(json, string.concat(_case(c), ".leaves"));
    }

    function _root(uint256 c) private view returns (bytes32) {
        return vm.parseJsonBytes32(json, string.concat(_case(c), ".root"));
    }

    function _proof(uint256 c, uint256 i) private view returns (bytes32[] memory) {
        return vm.parseJsonBytes32Array(json, string.concat(_case(c), ".proofs[", vm.toString(i), "]"));
    }

    function _at(uint256 c, uint256 i) private pure returns (string memory) {
        return string.concat("case ", vm.toString(c), " leaf ", vm.toString(i));
    }

    /// @dev The documented layout (OpenZeppelin's SimpleMerkleTree with
    /// sortLeaves false), built independently of the Go code: a heap array
    /// of 2n-1 nodes, leaf i at index 2n-2-i, node j = H(node 2j+1, node 2j+2).
    function _layoutRoot(bytes32[] memory leaves) private pure returns (bytes32) {
        uint256 n = leaves.length;
        if (n == 0) return bytes32(0);
        bytes32[] memory t = new bytes32[](2 * n - 1);
        for (uint256 i; i < n; ++i) {
            t[t.length - 1 - i] = leaves[i];
        }
        for (uint256 j = n - 1; j > 0; --j) {
            t[j - 1] = Hashes.commutativeKeccak256(t[2 * j - 1], t[2 * j]);
        }
        return t[0];
    }

    // --------------------------------------------------------------- tests

    function test_MerkleVectors_FileHasTheCases() public view {
        vm.assertGe(caseCount, 7, "cases in the vector file");
        vm.assertEq(_leaves(0).length, 0, "case 0 is the empty list");
        vm.assertEq(_root(0), bytes32(0), "no leaves: zero root");
        bool sawReceipts;
        for (uint256 c; c < caseCount; ++c) {
            if (vm.keyExistsJson(json, string.concat(_case(c), ".receipts"))) sawReceipts = true;
        }
        vm.assertTrue(sawReceipts, "a case built from receipts");
    }

    function test_MerkleVectors_EveryProofVerifies() public view {
        uint256 proofs;
        for (uint256 c; c < caseCount; ++c) {
            bytes32[] memory leaves = _leaves(c);
            bytes32 root = _root(c);
            vm.assertFalse(
                vm.keyExistsJson(json, string.concat(_case(c), ".proofs[", vm.toString(leaves.length), "]")),
                string.concat(_name(c), ": one proof per leaf")
            );
            for (uint256 i; i < leaves.length; ++i) {
                bytes32[] memory proof = _proof(c, i);
                vm.assertTrue(MerkleProof.verify(proof, root, leaves[i]), _at(c, i));
                vm.assertEq(MerkleProof.processProof(proof, leaves[i]), root, _at(c, i));
                proofs++;
            }
        }
        vm.assertGt(proofs, 20, "proofs checked");
    }

    function test_MerkleVectors_RootIsTheDocumentedLayout() public view {
        for (uint256 c; c < caseCount; ++c) {
            bytes32[] memory leaves = _leaves(c);
            vm.assertEq(_layoutRoot(leaves), _root(c), _name(c));
            if (leaves.length == 1) vm.assertEq(_root(c), leaves[0], "one leaf is its own root");
        }
    }

    function test_MerkleVectors_TamperedProofsFail() public view {
        bytes32 outsider = keccak256("not a leaf");
        for (uint256 c; c < caseCount; ++c) {
            bytes32[] memory leaves = _leaves(c);
            bytes32 root = _root(c);
            for (uint256 i; i < leaves.length; ++i) {
                bytes32[] memory proof = _proof(c, i);
                string memory at = _at(c, i);
                vm.assertFalse(MerkleProof.verify(proof, root, outsider), string.concat(at, ": outsider leaf"));
                vm.assertFalse(
                    MerkleProof.verify(proof, root, leaves[i] ^ bytes32(uint256(1))),
                    string.concat(at, ": flipped leaf")
                );
                vm.assertFalse(MerkleProof.verify(proof, outsider, leaves[i]), string.concat(at, ": wrong root"));
                if (leaves.length > 1) {
                    bytes32 other = leaves[(i + 1) % leaves.length];
                    if (other != leaves[i]) {
                        vm.assertFalse(
                            MerkleProof.verify(proof, root, other), string.concat(at, ": another leaf's proof")
                        );
                    }
                }
                for (uint256 j; j < proof.length; ++j) {
                    bytes32 saved = proof[j];
                    proof[j] = saved ^ bytes32(uint256(1) << 128);
                    vm.assertFalse(MerkleProof.verify(proof, root, leaves[i]), string.concat(at, ": flipped sibling"));
                    proof[j] = saved;
                }
            }
        }
    }

    function test_MerkleVectors_ReceiptLeavesAreStructHashes() public view {
        uint256 receipts;
        for (uint256 c; c < caseCount; ++c) {
            bytes32[] memory leaves = _leaves(c);
            for (uint256 k; vm.keyExistsJson(json, _receipt(c, k)); ++k) {
                vm.assertEq(_receiptStructHash(c, k), leaves[k], _at(c, k));
                receipts++;
            }
        }
        vm.assertGt(receipts, 0, "receipts checked");
    }

    /// @dev End to end: a claim carrying the receipts case's root emits it in
    /// Claimed, and each receipt proves against that root.
    function test_MerkleVectors_ClaimedRootProvesReceipts() public {
        uint256 c = caseCount - 1;
        vm.assertTrue(vm.keyExistsJson(json, _receipt(c, 0)), "last case is built from receipts");
        bytes32 root = _root(c);
        _claimWithRoot(root);

        bytes32[] memory leaves = _leaves(c);
        for (uint256 k; k < leaves.length; ++k) {
            vm.assertTrue(MerkleProof.verify(_proof(c, k), root, _receiptStructHash(c, k)), _at(c, k));
        }
    }

    /// @dev Opens an ETH channel and claims all of it with receiptsRoot root,
    /// expecting Claimed to carry the root.
    function _claimWithRoot(bytes32 root) private {
        (uint256 signerKey, address signer) = makeKey("merkle-signer");
        address payer = makeAddr("merkle-payer");
        address provider = makeAddr("merkle-provider");
        uint256 amount = 1 ether;
        vm.deal(payer, amount);
        vm.prank(payer);
        bytes32 id = pc.open{value: amount}(provider, signer, address(0), amount, bytes32(0));
        (bytes32 r, bytes32 vs) = vm.signCompact(signerKey, pc.hashVoucher(id, amount));

        PaymentChannels.Claim[] memory batch = new PaymentChannels.Claim[](1);
        batch[0] = PaymentChannels.Claim({
            channelId: id, voucherAmount: amount, amount: amount, receiptsRoot: root, r: r, vs: vs
        });
        vm.expectEmit(address(pc));
        emit PaymentChannels.Claimed(id, provider, amount, amount, amount, root);
        vm.prank(provider);
        pc.claimMany(batch);
        vm.assertEq(provider.balance, amount, "claimed");
    }

    function _receipt(uint256 c, uint256 k) private pure returns (string memory) {
        return string.concat(_case(c), ".receipts[", vm.toString(k), "]");
    }

    struct ReceiptFields {
        bytes32 channelId;
        bytes32 jobId;
        uint256 cost;
        uint256 cumulativeCharged;
        uint64 inputTokens;
        uint64 outputTokens;
        bytes32 resultHash;
    }

    /// @dev Amounts are decimal strings in the file, never JSON numbers.
    function _receiptFields(uint256 c, uint256 k) private view returns (ReceiptFields memory f) {
        string memory p = _receipt(c, k);
        f.channelId = vm.parseJsonBytes32(json, string.concat(p, ".channelId"));
        f.jobId = vm.parseJsonBytes32(json, string.concat(p, ".jobId"));
        f.cost = vm.parseUint(vm.parseJsonString(json, string.concat(p, ".cost")));
        f.cumulativeCharged = vm.parseUint(vm.parseJsonString(json, string.concat(p, ".cumulativeCharged")));
        f.inputTokens = uint64(vm.parseJsonUint(json, string.concat(p, ".inputTokens")));
        f.outputTokens = uint64(vm.parseJsonUint(json, string.concat(p, ".outputTokens")));
        f.resultHash = vm.parseJsonBytes32(json, string.concat(p, ".resultHash"));
    }

    /// @dev The leaf of a receipt in the file, as the contract hashes it.
    function _receiptStructHash(uint256 c, uint256 k) private view returns (bytes32) {
        ReceiptFields memory f = _receiptFields(c, k);
        return pc.hashReceiptStruct(
            f.channelId, f.jobId, f.cost, f.cumulativeCharged, f.inputTokens, f.outputTokens, f.resultHash
        );
    }
}
