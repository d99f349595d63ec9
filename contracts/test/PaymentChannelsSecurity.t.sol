// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {PaymentChannels} from "../src/PaymentChannels.sol";
import {ChannelsFixture} from "./utils/ChannelsFixture.sol";
import {FeeOnTransferToken, ReentrantReceiver, ReentrantToken} from "./utils/Actors.sol";

/// @notice Vouchers bind to one chain, one contract and one signer.
contract VoucherBindingTest is ChannelsFixture {
    uint256 private constant OTHER_CHAIN_ID = 8453;
    uint256 private constant AMOUNT = 0.1 ether;

    function _expectInvalid(PaymentChannels.Claim memory c) private {
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.InvalidSignature.selector, c.channelId));
        channels.claimMany(_batch(c));
    }

    function _claimWithSignature(bytes32 id, bytes32 r, bytes32 vs)
        private
        pure
        returns (PaymentChannels.Claim memory)
    {
        return PaymentChannels.Claim({
            channelId: id, voucherAmount: AMOUNT, amount: AMOUNT, receiptsRoot: RECEIPTS_ROOT, r: r, vs: vs
        });
    }

    function test_ValidVoucherIsAccepted() public {
        // The control for every rejection below.
        bytes32 id = _openEth(ETH_DEPOSIT);
        _claimAsProvider(id, AMOUNT);
        vm.assertEq(_claimed(id), AMOUNT, "claimed");
    }

    function test_CompactPackingMatchesForge() public view {
        bytes32 digest = channels.hashVoucher(keccak256("any"), AMOUNT);
        (bytes32 r, bytes32 vs) = _signCompact(signerKey, digest);
        (bytes32 wantR, bytes32 wantVs) = vm.signCompact(signerKey, digest);
        vm.assertEq(r, wantR, "r");
        vm.assertEq(vs, wantVs, "vs");
    }

    function test_RejectsVoucherSignedForAnotherChain() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        uint256 home = block.chainid;
        bytes32 homeDigest = channels.hashVoucher(id, AMOUNT);

        vm.chainId(OTHER_CHAIN_ID);
        bytes32 foreignDigest = channels.hashVoucher(id, AMOUNT);
        (bytes32 r, bytes32 vs) = _signCompact(signerKey, foreignDigest);
        vm.chainId(home);

        vm.assertNotEq(homeDigest, foreignDigest, "chain id is in the domain");
        _expectInvalid(_claimWithSignature(id, r, vs));
    }

    function test_RejectsVoucherAfterChainIdChanges() public {
        // A voucher signed here is no good on a fork with another chain id.
        bytes32 id = _openEth(ETH_DEPOSIT);
        PaymentChannels.Claim memory c = _claim(id, AMOUNT, AMOUNT);
        vm.chainId(OTHER_CHAIN_ID);
        _expectInvalid(c);
    }

    function test_RejectsVoucherForAnotherContract() public {
        PaymentChannels twin = new PaymentChannels(WITHDRAWAL_DELAY);
        bytes32 id = _openEth(ETH_DEPOSIT);
        vm.prank(payer);
        bytes32 twinId = twin.open{value: ETH_DEPOSIT}(provider, signer, NATIVE, ETH_DEPOSIT, SALT);
        vm.assertEq(twinId, id, "same channel id in both contracts");

        (bytes32 r, bytes32 vs) = _signCompact(signerKey, twin.hashVoucher(id, AMOUNT));
        PaymentChannels.Claim memory c = _claimWithSignature(id, r, vs);
        _expectInvalid(c);

        // The same voucher is good where it was signed for.
        vm.prank(provider);
        twin.claimMany(_batch(c));
        vm.assertEq(twin.getChannel(id).claimed, AMOUNT, "claimed on the twin");
    }

    function test_RejectsVoucherSignedByPayer() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        _expectInvalid(_claimSignedBy(payerKey, id, AMOUNT, AMOUNT));
    }

    function test_RejectsVoucherSignedByProvider() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        _expectInvalid(_claimSignedBy(providerKey, id, AMOUNT, AMOUNT));
    }

    function test_RejectsVoucherSignedByStranger() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        (uint256 strangerKey,) = makeKey("stranger-key");
        _expectInvalid(_claimSignedBy(strangerKey, id, AMOUNT, AMOUNT));
    }

    function test_RejectsMalleableTwinSignature() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(signerKey, channels.hashVoucher(id, AMOUNT));
        // (r, n - s) with the other parity recovers the same key under plain
        // ecrecover; OpenZeppelin's ECDSA refuses the high-s half.
        uint256 highS = SECP256K1_ORDER - uint256(s);
        uint256 flippedParity = v == 27 ? 1 : 0;
        bytes32 vs = bytes32(highS | (flippedParity << 255));
        vm.assertEq(
            ecrecover(channels.hashVoucher(id, AMOUNT), uint8(27 + flippedParity), r, bytes32(highS)),
            signer,
            "twin recovers"
        );
        _expectInvalid(_claimWithSignature(id, r, vs));
    }
}

/// @notice A token whose transfer and transferFrom call back into
/// PaymentChannels cannot re-enter it: the guard's error surfaces.
contract TokenReentrancyTest is ChannelsFixture {
    uint256 private constant DEPOSIT = 1_000e18;
    uint256 private constant AMOUNT = 10e18;

    ReentrantToken private token;

    function setUp() public override {
        super.setUp();
        token = new ReentrantToken();
        token.mint(payer, 10 * DEPOSIT);
        vm.prank(payer);
        token.approve(address(channels), type(uint256).max);
    }

    function _open() private returns (bytes32 id) {
        vm.prank(payer);
        id = channels.open(provider, signer, address(token), DEPOSIT, SALT);
    }

    function _expectGuard() private {
        vm.expectRevert(abi.encodeWithSelector(ReentrancyGuard.ReentrancyGuardReentrantCall.selector));
    }

    function test_TokenWorksUnarmed() public {
        bytes32 id = _open();
        _claimAsProvider(id, AMOUNT);
        vm.assertEq(token.balanceOf(provider), AMOUNT, "provider paid");
    }

    function test_OpenCannotBeReenteredByTopUp() public {
        bytes32 id = channels.channelId(payer, provider, signer, address(token), SALT);
        token.arm(address(channels), abi.encodeCall(PaymentChannels.topUp, (id, AMOUNT)));
        vm.prank(payer);
        _expectGuard();
        channels.open(provider, signer, address(token), DEPOSIT, SALT);
    }

    function test_TopUpCannotBeReenteredByTopUp() public {
        bytes32 id = _open();
        token.arm(address(channels), abi.encodeCall(PaymentChannels.topUp, (id, AMOUNT)));
        vm.prank(payer);
        _expectGuard();
        channels.topUp(id, AMOUNT);
    }

    function test_ClaimCannotBeReenteredByClaim() public {
        bytes32 id = _open();
        PaymentChannels.Claim[] memory first = _batch(_claim(id, AMOUNT, AMOUNT));
        PaymentChannels.Claim[] memory second = _batch(_claim(id, 2 * AMOUNT, 2 * AMOUNT));
        token.arm(address(channels), abi.encodeCall(PaymentChannels.claimMany, (second)));
        vm.prank(provider);
        _expectGuard();
        channels.claimMany(first);
    }

    function test_ClaimCannotBeReenteredByFinalize() public {
        bytes32 id = _open();
        _requestWithdrawal(id);
        vm.warp(block.timestamp + WITHDRAWAL_DELAY);
        PaymentChannels.Claim[] memory b = _batch(_claim(id, AMOUNT, AMOUNT));
        token.arm(address(channels), abi.encodeCall(PaymentChannels.finalizeWithdrawal, (id)));
        vm.prank(provider);
        _expectGuard();
        channels.claimMany(b);
    }

    function test_FinalizeCannotBeReenteredByFinalize() public {
        bytes32 id = _open();
        _requestWithdrawal(id);
        vm.warp(block.timestamp + WITHDRAWAL_DELAY);
        token.arm(address(channels), abi.encodeCall(PaymentChannels.finalizeWithdrawal, (id)));
        vm.prank(payer);
        _expectGuard();
        channels.finalizeWithdrawal(id);
    }

    function test_FinalizeCannotBeReenteredByClaim() public {
        bytes32 id = _open();
        _requestWithdrawal(id);
        vm.warp(block.timestamp + WITHDRAWAL_DELAY);
        PaymentChannels.Claim[] memory b = _batch(_claim(id, AMOUNT, AMOUNT));
        token.arm(address(channels), abi.encodeCall(PaymentChannels.claimMany, (b)));
        vm.prank(payer);
        _expectGuard();
        channels.finalizeWithdrawal(id);
    }
}

/// @notice ETH payouts go to contracts that try to re-enter from receive().
/// The receiver catches the failed reentry so the outer call completes and
/// the test can check the guard's error and that money moved exactly once.
contract EthReentrancyTest is ChannelsFixture {
    uint256 private constant AMOUNT = 0.2 ether;

    ReentrantReceiver private attacker;

    function setUp() public override {
        super.setUp();
        attacker = new ReentrantReceiver(channels);
        vm.deal(address(attacker), 0);
    }

    function _guardError() private pure returns (bytes memory) {
        return abi.encodeWithSelector(ReentrancyGuard.ReentrancyGuardReentrantCall.selector);
    }

    function test_PayerReenteringFinalizeIsStopped() public {
        bytes32 id = attacker.open{value: ETH_DEPOSIT}(provider, signer, ETH_DEPOSIT, SALT);
        _claimAsProvider(id, AMOUNT);
        attacker.requestWithdrawal(id);
        vm.warp(block.timestamp + WITHDRAWAL_DELAY);

        attacker.arm(abi.encodeCall(PaymentChannels.finalizeWithdrawal, (id)));
        attacker.finalizeWithdrawal(id);

        vm.assertFalse(attacker.reentrySucceeded(), "reentry failed");
        vm.assertEq(attacker.reentryError(), _guardError(), "stopped by the guard");
        vm.assertEq(attacker.received(), ETH_DEPOSIT - AMOUNT, "refunded once");
        vm.assertEq(address(channels).balance, 0, "nothing more left");
    }

    function test_PayerReenteringTopUpIsStopped() public {
        bytes32 id = attacker.open{value: ETH_DEPOSIT}(provider, signer, ETH_DEPOSIT, SALT);
        attacker.requestWithdrawal(id);
        vm.warp(block.timestamp + WITHDRAWAL_DELAY);
        attacker.arm(abi.encodeCall(PaymentChannels.topUp, (id, 0)));
        attacker.finalizeWithdrawal(id);
        vm.assertEq(attacker.reentryError(), _guardError(), "stopped by the guard");
    }

    function test_ProviderReenteringClaimIsStopped() public {
        vm.prank(payer);
        bytes32 id = channels.open{value: ETH_DEPOSIT}(address(attacker), signer, NATIVE, ETH_DEPOSIT, SALT);
        PaymentChannels.Claim[] memory first = _batch(_claim(id, AMOUNT, AMOUNT));
        PaymentChannels.Claim[] memory second = _batch(_claim(id, 2 * AMOUNT, 2 * AMOUNT));

        attacker.arm(abi.encodeCall(PaymentChannels.claimMany, (second)));
        attacker.claimMany(first);

        vm.assertEq(attacker.reentryError(), _guardError(), "stopped by the guard");
        vm.assertEq(attacker.received(), AMOUNT, "paid once");
        vm.assertEq(_claimed(id), AMOUNT, "claimed once");
    }
}

/// @notice A token that takes a fee on transfer is credited only what
/// arrived, so the channel never promises more than the contract holds.
contract FeeOnTransferTest is ChannelsFixture {
    uint256 private constant FEE_BPS = 100; // 1 %
    uint256 private constant FULL_FEE_BPS = 10_000;
    uint256 private constant DEPOSIT = 1_000_000;
    uint256 private constant TOP_UP = 500_000;

    FeeOnTransferToken private token;

    function setUp() public override {
        super.setUp();
        token = _feeToken(FEE_BPS);
    }

    function _feeToken(uint256 bps) private returns (FeeOnTransferToken t) {
        t = new FeeOnTransferToken(bps);
        t.mint(payer, 10 * DEPOSIT);
        vm.prank(payer);
        t.approve(address(channels), type(uint256).max);
    }

    function test_OpenCreditsWhatArrived() public {
        uint256 net = DEPOSIT - token.feeOn(DEPOSIT);
        bytes32 want = channels.channelId(payer, provider, signer, address(token), SALT);
        vm.expectEmit(address(channels));
        emit PaymentChannels.ChannelOpened(want, payer, provider, signer, address(token), net);
        vm.prank(payer);
        bytes32 id = channels.open(provider, signer, address(token), DEPOSIT, SALT);
        vm.assertEq(_deposit(id), net, "deposit is net of fee");
        vm.assertEq(token.balanceOf(address(channels)), net, "held");
    }

    function test_TopUpCreditsWhatArrivedAndClaimsStayCovered() public {
        vm.prank(payer);
        bytes32 id = channels.open(provider, signer, address(token), DEPOSIT, SALT);
        uint256 netTopUp = TOP_UP - token.feeOn(TOP_UP);
        vm.expectEmit(address(channels));
        emit PaymentChannels.ChannelToppedUp(id, netTopUp, _deposit(id) + netTopUp);
        vm.prank(payer);
        channels.topUp(id, TOP_UP);

        uint256 deposit = _deposit(id);
        vm.assertEq(deposit, token.balanceOf(address(channels)), "deposit == held");

        PaymentChannels.Claim[] memory tooMuch = _batch(_claim(id, deposit + 1, deposit + 1));
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ClaimAboveDeposit.selector, id, deposit + 1, deposit));
        channels.claimMany(tooMuch);

        uint256 claimed = deposit / 3;
        _claimAsProvider(id, claimed);
        vm.assertEq(token.balanceOf(address(channels)), deposit - claimed, "held after claim");
        _withdraw(id);
        vm.assertEq(token.balanceOf(address(channels)), 0, "refund emptied it exactly");
    }

    function test_TokenKeepingEverythingCreditsNothing() public {
        FeeOnTransferToken sink = _feeToken(FULL_FEE_BPS);
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ZeroAmount.selector));
        channels.open(provider, signer, address(sink), DEPOSIT, SALT);
    }
}
