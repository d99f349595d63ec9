// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {PaymentChannels} from "../src/PaymentChannels.sol";
import {ChannelsFixture} from "./utils/ChannelsFixture.sol";

/// @notice Fuzzed amounts: whatever the deposits, top-ups and claim
/// sequence, claimed + refunded equals what went in, to the last base unit.
contract PaymentChannelsFuzzTest is ChannelsFixture {
    uint256 private constant STEPS = 5;
    /// @dev Per deposit; STEPS + 1 of them stay below uint128.max.
    uint256 private constant MAX_SINGLE_DEPOSIT = type(uint128).max / (STEPS + 1);

    struct Totals {
        uint256 deposited;
        uint256 claimed;
    }

    /// @dev Gives the payer `amount` more of `asset` to spend.
    function _fund(address asset, uint256 amount) private {
        if (asset == NATIVE) {
            vm.deal(payer, payer.balance + amount);
        } else {
            vm.prank(tokenOwner);
            tusd.mint(payer, amount);
        }
    }

    function _balanceOf(address asset, address who) private view returns (uint256) {
        return asset == NATIVE ? who.balance : tusd.balanceOf(who);
    }

    function _open(address asset, uint256 amount) private returns (bytes32 id) {
        _fund(asset, amount);
        vm.prank(payer);
        id = channels.open{value: asset == NATIVE ? amount : 0}(provider, signer, asset, amount, SALT);
    }

    function _topUp(address asset, bytes32 id, uint256 amount) private {
        _fund(asset, amount);
        vm.prank(payer);
        channels.topUp{value: asset == NATIVE ? amount : 0}(id, amount);
    }

    /// @dev Opens, then alternates a top-up and a claim STEPS times, then
    /// withdraws; checks every balance against the running totals.
    function _lifecycle(
        address asset,
        uint256 deposit,
        uint256[STEPS] memory topUps,
        uint256[STEPS] memory claimSeeds,
        uint256 voucherSlack
    ) private {
        deposit = bound(deposit, 1, MAX_SINGLE_DEPOSIT);
        Totals memory t;
        bytes32 id = _open(asset, deposit);
        t.deposited = deposit;

        for (uint256 i; i < STEPS; ++i) {
            uint256 topUp = bound(topUps[i], 0, MAX_SINGLE_DEPOSIT);
            if (topUp > 0) {
                _topUp(asset, id, topUp);
                t.deposited += topUp;
            }
            if (t.claimed == t.deposited) continue;
            uint256 target = bound(claimSeeds[i], t.claimed + 1, t.deposited);
            uint256 voucher = target + bound(voucherSlack, 0, t.deposited - target);
            PaymentChannels.Claim[] memory b = _batch(_claim(id, voucher, target));
            vm.prank(provider);
            channels.claimMany(b);
            t.claimed = target;

            vm.assertEq(_claimed(id), t.claimed, "claimed");
            vm.assertEq(_deposit(id), t.deposited, "deposit");
            vm.assertEq(_balanceOf(asset, provider), t.claimed, "provider holds the claims");
            vm.assertEq(_balanceOf(asset, address(channels)), t.deposited - t.claimed, "contract holds the rest");
        }

        uint256 before = _balanceOf(asset, payer);
        _withdraw(id);
        uint256 refund = _balanceOf(asset, payer) - before;
        vm.assertEq(refund, t.deposited - t.claimed, "refund = deposits - claimed");
        vm.assertEq(refund + t.claimed, t.deposited, "refund + claimed = deposits");
        vm.assertEq(_balanceOf(asset, address(channels)), 0, "contract empty");
    }

    function testFuzz_Eth_DepositsEqualClaimedPlusRefund(
        uint256 deposit,
        uint256[STEPS] memory topUps,
        uint256[STEPS] memory claimSeeds,
        uint256 voucherSlack
    ) public {
        _lifecycle(NATIVE, deposit, topUps, claimSeeds, voucherSlack);
    }

    function testFuzz_Token_DepositsEqualClaimedPlusRefund(
        uint256 deposit,
        uint256[STEPS] memory topUps,
        uint256[STEPS] memory claimSeeds,
        uint256 voucherSlack
    ) public {
        _lifecycle(address(tusd), deposit, topUps, claimSeeds, voucherSlack);
    }

    /// @dev Any (deposit, voucher, amount) either succeeds or fails with the
    /// one error the checks give, in the contract's order.
    function testFuzz_ClaimBounds(uint128 deposit, uint256 voucher, uint256 amount) public {
        vm.assume(deposit > 0);
        bytes32 id = _open(address(tusd), deposit);
        PaymentChannels.Claim[] memory b = _batch(_claim(id, voucher, amount));

        vm.prank(provider);
        if (amount == 0) {
            vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ClaimNotIncreasing.selector, id, amount, 0));
        } else if (amount > voucher) {
            vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ClaimAboveVoucher.selector, id, amount, voucher));
        } else if (amount > deposit) {
            vm.expectRevert(
                abi.encodeWithSelector(PaymentChannels.ClaimAboveDeposit.selector, id, amount, uint256(deposit))
            );
        }
        channels.claimMany(b);
        uint256 want = amount > 0 && amount <= voucher && amount <= deposit ? amount : 0;
        vm.assertEq(_claimed(id), want, "claimed");
    }

    /// @dev Claims only ever move up: a second claim at or below the first
    /// is refused and changes nothing.
    function testFuzz_ClaimsAreMonotone(uint128 deposit, uint256 first, uint256 second) public {
        vm.assume(deposit > 0);
        bytes32 id = _open(NATIVE, deposit);
        first = bound(first, 1, deposit);
        second = bound(second, 0, deposit);
        _claimAsProvider(id, first);

        PaymentChannels.Claim[] memory b = _batch(_claim(id, deposit, second));
        vm.prank(provider);
        if (second <= first) {
            vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ClaimNotIncreasing.selector, id, second, first));
        }
        channels.claimMany(b);
        vm.assertEq(_claimed(id), second > first ? second : first, "claimed");
        vm.assertEq(provider.balance, _claimed(id), "paid what is claimed");
    }

    /// @dev A signature covers exactly one voucher amount.
    function testFuzz_SignatureBindsVoucherAmount(uint256 signed, uint256 presented) public {
        vm.assume(signed != presented);
        bytes32 id = _open(NATIVE, ETH_DEPOSIT);
        PaymentChannels.Claim memory c = _claim(id, signed, 1);
        c.voucherAmount = presented;
        vm.prank(provider);
        if (presented == 0) {
            vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ClaimAboveVoucher.selector, id, 1, 0));
        } else {
            vm.expectRevert(abi.encodeWithSelector(PaymentChannels.InvalidSignature.selector, id));
        }
        channels.claimMany(_batch(c));
    }

    /// @dev Batches of many channels pay the provider the sum, per asset.
    function testFuzz_BatchPaysTheSumPerAsset(uint256[6] memory amounts, uint8 assetBits) public {
        uint256 n = amounts.length;
        PaymentChannels.Claim[] memory b = new PaymentChannels.Claim[](n);
        uint256 ethSum;
        uint256 tusdSum;
        for (uint256 i; i < n; ++i) {
            bool isEth = (assetBits >> i) & 1 == 1;
            address asset = isEth ? NATIVE : address(tusd);
            uint256 amount = bound(amounts[i], 1, MAX_SINGLE_DEPOSIT);
            _fund(asset, amount);
            vm.prank(payer);
            bytes32 id = channels.open{value: isEth ? amount : 0}(provider, signer, asset, amount, bytes32(i));
            b[i] = _claim(id, amount, amount);
            if (isEth) ethSum += amount;
            else tusdSum += amount;
        }
        vm.prank(provider);
        channels.claimMany(b);
        vm.assertEq(provider.balance, ethSum, "ETH sum");
        vm.assertEq(tusd.balanceOf(provider), tusdSum, "TUSD sum");
        vm.assertEq(address(channels).balance, 0, "ETH all paid out");
        vm.assertEq(tusd.balanceOf(address(channels)), 0, "TUSD all paid out");
    }
}
