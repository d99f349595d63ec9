// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {PaymentChannels} from "../../src/PaymentChannels.sol";
import {TestUSD} from "../../src/TestUSD.sol";
import {ChannelsHandler} from "./ChannelsHandler.sol";

/// @notice The money invariants of docs/DESIGN (Contracts), over random
/// sequences of opens, top-ups, vouchers, batch claims and withdrawals.
/// forge-config: default.invariant.fail-on-revert = true
contract PaymentChannelsInvariantTest is Test {
    uint64 private constant WITHDRAWAL_DELAY = 1 hours;
    address private constant NATIVE = address(0);

    PaymentChannels private channels;
    TestUSD private tusd;
    ChannelsHandler private handler;

    function setUp() public {
        channels = new PaymentChannels(WITHDRAWAL_DELAY);
        tusd = new TestUSD(address(this));
        handler = new ChannelsHandler(channels, tusd);
        tusd.transferOwnership(address(handler));

        bytes4[] memory selectors = new bytes4[](8);
        selectors[0] = ChannelsHandler.open.selector;
        selectors[1] = ChannelsHandler.topUp.selector;
        selectors[2] = ChannelsHandler.signVoucher.selector;
        selectors[3] = ChannelsHandler.claimMany.selector;
        selectors[4] = ChannelsHandler.requestWithdrawal.selector;
        selectors[5] = ChannelsHandler.finalizeWithdrawal.selector;
        selectors[6] = ChannelsHandler.warp.selector;
        selectors[7] = ChannelsHandler.overclaim.selector;
        targetContract(address(handler));
        targetSelector(address(handler), selectors);
    }

    function _held(address asset) private view returns (uint256) {
        return asset == NATIVE ? address(channels).balance : tusd.balanceOf(address(channels));
    }

    function _assertBooksBalance(address asset, string memory name) private view {
        uint256 expected = handler.ghostDeposited(asset) - handler.ghostClaimed(asset) - handler.ghostRefunded(asset);
        vm.assertEq(_held(asset), expected, string.concat(name, ": balance = deposits - claimed - refunded"));
    }

    /// For every asset: balance held = Σ deposits − Σ claimed − Σ refunded.
    function invariant_BalanceEqualsDepositsMinusClaimedMinusRefunded() public view {
        _assertBooksBalance(NATIVE, "ETH");
        _assertBooksBalance(address(tusd), "TUSD");
    }

    /// Per channel: claimed ≤ deposit, claimed ≤ the highest voucher signed,
    /// and the contract's books match the handler's.
    function invariant_ClaimedWithinDepositAndVoucher() public view {
        uint256 n = handler.channelCount();
        for (uint256 i; i < n; ++i) {
            bytes32 id = handler.ids(i);
            PaymentChannels.Channel memory c = channels.getChannel(id);
            vm.assertLe(c.claimed, c.deposit, "claimed <= deposit");
            vm.assertLe(c.claimed, handler.highestVoucher(id), "claimed <= highest voucher");
            vm.assertEq(c.claimed, handler.ghostChannelClaimed(id), "claimed as tracked");
            vm.assertEq(c.deposit, handler.ghostChannelDeposit(id), "deposit as tracked");
        }
    }

    /// No claim above the deposit or above the latest voucher ever went through.
    function invariant_OverclaimsAreRefused() public view {
        vm.assertEq(handler.calls("overclaim accepted"), 0, "overclaim accepted");
    }

    /// What providers hold is exactly what was claimed (they start empty).
    function invariant_ProvidersHoldExactlyTheClaims() public view {
        uint256 eth;
        uint256 usd;
        for (uint256 i; i < handler.ACTORS(); ++i) {
            address p = handler.provider(i);
            eth += p.balance;
            usd += tusd.balanceOf(p);
        }
        vm.assertEq(eth, handler.ghostClaimed(NATIVE), "ETH paid to providers");
        vm.assertEq(usd, handler.ghostClaimed(address(tusd)), "TUSD paid to providers");
    }

    function afterInvariant() public view {
        log("channels opened", handler.calls("open"));
        log("top-ups", handler.calls("topUp"));
        log("vouchers signed", handler.calls("signVoucher"));
        log("claim batches", handler.calls("claimMany"));
        log("channels claimed", handler.calls("claimed channels"));
        log("withdrawals requested", handler.calls("requestWithdrawal"));
        log("withdrawals finalized", handler.calls("finalizeWithdrawal"));
        log("overclaims refused", handler.calls("overclaim refused"));
    }
}
