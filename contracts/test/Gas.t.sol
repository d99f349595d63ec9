// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {PaymentChannels} from "../src/PaymentChannels.sol";
import {ChannelsFixture} from "./utils/ChannelsFixture.sol";

/// @notice Settlement gas: open, top up, and claimMany with 1, 10 and 100
/// channels, ETH and TestUSD, each claim the first of its channel and then
/// a later one. The figures in docs/benchmarks.md come from
///
///   forge test --isolate --match-contract SettlementGas -vv
///
/// With --isolate every top-level call below runs as its own transaction,
/// so storage starts cold as on chain and the gas read back with
/// vm.lastCallGas() is the transaction's: 21,000 base + calldata + execution
/// − refunds. Without --isolate the numbers are execution only, inside one
/// test transaction; the target assertion holds either way.
contract SettlementGasTest is ChannelsFixture {
    uint256 private constant MAX_BATCH = 100;
    uint256 private constant TARGET_PER_CHANNEL = 35_000;
    uint256 private constant TX_BASE_GAS = 21_000;
    uint256 private constant ZERO_BYTE_GAS = 4;
    uint256 private constant NONZERO_BYTE_GAS = 16;
    uint256 private constant PERMIT_LIFETIME = 1 hours;

    /// @dev Realistic amounts, so calldata has realistic non-zero bytes:
    /// about 0.0012 ETH and 12.34 TUSD claimed at first, twice that later.
    uint256 private constant ETH_CLAIM = 1_234_567_890_123_456;
    uint256 private constant TUSD_CLAIM = 12_345_678;
    uint256 private constant VOUCHER_HEADROOM = 2; // voucher = claim + claim / 2

    bytes32[] private ethIds;
    bytes32[] private tusdIds;

    function setUp() public override {
        super.setUp();
        // A provider pays for its own claim transactions, so it has ETH and
        // its account exists, as on a real chain.
        vm.deal(provider, 1 ether);
        for (uint256 i; i < MAX_BATCH; ++i) {
            ethIds.push(_openEthWithSalt(ETH_DEPOSIT, bytes32(i)));
            tusdIds.push(_openTusdWithSalt(TUSD_DEPOSIT, bytes32(i)));
        }
    }

    // ------------------------------------------------------------- helpers

    function _lastGas() private view returns (uint256) {
        return vm.lastCallGas().gasTotalUsed;
    }

    /// @dev What a transaction pays for its calldata before EIP-7623's floor,
    /// which only bites when execution is small next to calldata (not here).
    function _calldataGas(bytes memory data) private pure returns (uint256 gas) {
        for (uint256 i; i < data.length; ++i) {
            gas += data[i] == 0 ? ZERO_BYTE_GAS : NONZERO_BYTE_GAS;
        }
    }

    function _batchOf(bytes32[] storage ids, uint256 n, uint256 amount)
        private
        view
        returns (PaymentChannels.Claim[] memory b)
    {
        b = new PaymentChannels.Claim[](n);
        for (uint256 i; i < n; ++i) {
            b[i] = _claim(ids[i], amount + amount / VOUCHER_HEADROOM, amount);
        }
    }

    function _claimAndMeasure(PaymentChannels.Claim[] memory b) private returns (uint256 gas, uint256 calldataGas) {
        vm.prank(provider);
        channels.claimMany(b);
        gas = _lastGas();
        calldataGas = _calldataGas(abi.encodeCall(PaymentChannels.claimMany, (b)));
    }

    function _report(string memory what, uint256 n, uint256 gas, uint256 calldataGas) private view {
        log(
            string.concat(
                "| ",
                what,
                " | ",
                vm.toString(n),
                " | ",
                vm.toString(gas),
                " | ",
                vm.toString(gas / n),
                " | ",
                vm.toString(calldataGas),
                " | ",
                vm.toString(calldataGas / n),
                " |"
            )
        );
    }

    /// @dev Claims the first n channels twice: the first claim of each
    /// channel, then a later, higher one. Returns the first's gas.
    function _measureBatch(bytes32[] storage ids, uint256 n, uint256 amount, string memory asset)
        private
        returns (uint256 firstGas, uint256 laterGas)
    {
        uint256 calldataGas;
        (firstGas, calldataGas) = _claimAndMeasure(_batchOf(ids, n, amount));
        _report(string.concat("claimMany ", asset, ", first claim"), n, firstGas, calldataGas);
        (laterGas, calldataGas) = _claimAndMeasure(_batchOf(ids, n, 2 * amount));
        _report(string.concat("claimMany ", asset, ", later claim"), n, laterGas, calldataGas);
        vm.assertEq(_claimed(ids[n - 1]), 2 * amount, "claimed");
    }

    // --------------------------------------------------------------- open

    function test_Gas_OpenEth() public {
        bytes memory data = abi.encodeCall(PaymentChannels.open, (provider, signer, NATIVE, ETH_DEPOSIT, OTHER_SALT));
        _openEthWithSalt(ETH_DEPOSIT, OTHER_SALT);
        _report("open ETH", 1, _lastGas(), _calldataGas(data));
    }

    function test_Gas_OpenToken() public {
        bytes memory data =
            abi.encodeCall(PaymentChannels.open, (provider, signer, address(tusd), TUSD_DEPOSIT, OTHER_SALT));
        _openTusdWithSalt(TUSD_DEPOSIT, OTHER_SALT);
        _report("open TUSD (approved)", 1, _lastGas(), _calldataGas(data));
    }

    function test_Gas_OpenWithPermit() public {
        vm.prank(payer);
        tusd.approve(address(channels), 0);
        uint256 deadline = block.timestamp + PERMIT_LIFETIME;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(payerKey, payer, TUSD_DEPOSIT, deadline);
        bytes memory data = abi.encodeCall(
            PaymentChannels.openWithPermit,
            (provider, signer, address(tusd), TUSD_DEPOSIT, OTHER_SALT, deadline, v, r, s)
        );
        vm.prank(payer);
        channels.openWithPermit(provider, signer, address(tusd), TUSD_DEPOSIT, OTHER_SALT, deadline, v, r, s);
        _report("openWithPermit TUSD", 1, _lastGas(), _calldataGas(data));
    }

    function test_Gas_TopUpEth() public {
        vm.prank(payer);
        channels.topUp{value: ETH_DEPOSIT}(ethIds[0], ETH_DEPOSIT);
        _report(
            "topUp ETH", 1, _lastGas(), _calldataGas(abi.encodeCall(PaymentChannels.topUp, (ethIds[0], ETH_DEPOSIT)))
        );
    }

    function test_Gas_TopUpToken() public {
        vm.prank(payer);
        channels.topUp(tusdIds[0], TUSD_DEPOSIT);
        _report(
            "topUp TUSD", 1, _lastGas(), _calldataGas(abi.encodeCall(PaymentChannels.topUp, (tusdIds[0], TUSD_DEPOSIT)))
        );
    }

    function test_Gas_Withdrawal() public {
        bytes32 id = tusdIds[0];
        _claimAsProvider(id, TUSD_CLAIM);
        vm.prank(payer);
        channels.requestWithdrawal(id);
        _report(
            "requestWithdrawal", 1, _lastGas(), _calldataGas(abi.encodeCall(PaymentChannels.requestWithdrawal, (id)))
        );
        vm.warp(block.timestamp + WITHDRAWAL_DELAY);
        vm.prank(payer);
        channels.finalizeWithdrawal(id);
        _report(
            "finalizeWithdrawal TUSD",
            1,
            _lastGas(),
            _calldataGas(abi.encodeCall(PaymentChannels.finalizeWithdrawal, (id)))
        );
    }

    // -------------------------------------------------------------- claims

    function test_Gas_ClaimEth_1() public {
        _measureBatch(ethIds, 1, ETH_CLAIM, "ETH");
    }

    function test_Gas_ClaimEth_10() public {
        _measureBatch(ethIds, 10, ETH_CLAIM, "ETH");
    }

    function test_Gas_ClaimEth_100() public {
        (uint256 first, uint256 later) = _measureBatch(ethIds, MAX_BATCH, ETH_CLAIM, "ETH");
        vm.assertLe(first / MAX_BATCH, TARGET_PER_CHANNEL, "first claim per channel");
        vm.assertLe(later / MAX_BATCH, TARGET_PER_CHANNEL, "later claim per channel");
    }

    function test_Gas_ClaimToken_1() public {
        _measureBatch(tusdIds, 1, TUSD_CLAIM, "TUSD");
    }

    function test_Gas_ClaimToken_10() public {
        _measureBatch(tusdIds, 10, TUSD_CLAIM, "TUSD");
    }

    function test_Gas_ClaimToken_100() public {
        (uint256 first, uint256 later) = _measureBatch(tusdIds, MAX_BATCH, TUSD_CLAIM, "TUSD");
        vm.assertLe(first / MAX_BATCH, TARGET_PER_CHANNEL, "first claim per channel");
        vm.assertLe(later / MAX_BATCH, TARGET_PER_CHANNEL, "later claim per channel");
    }
}
