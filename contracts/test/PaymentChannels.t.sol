// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {PaymentChannels} from "../src/PaymentChannels.sol";
import {ChannelsFixture} from "./utils/ChannelsFixture.sol";
import {RejectingReceiver} from "./utils/Actors.sol";

/// @notice Unit tests: every PaymentChannels function and every revert.
contract PaymentChannelsOpenTest is ChannelsFixture {
    function test_Open_Eth_StoresChannel() public {
        bytes32 id = _openEth(ETH_DEPOSIT);

        PaymentChannels.Channel memory c = channels.getChannel(id);
        vm.assertEq(c.signer, signer, "signer");
        vm.assertEq(c.provider, provider, "provider");
        vm.assertEq(c.asset, NATIVE, "asset");
        vm.assertEq(c.payer, payer, "payer");
        vm.assertEq(uint256(c.deposit), ETH_DEPOSIT, "deposit");
        vm.assertEq(uint256(c.claimed), 0, "claimed");
        vm.assertEq(uint256(c.withdrawableAt), 0, "withdrawableAt");
        vm.assertFalse(c.closed, "closed");
        vm.assertEq(address(channels).balance, ETH_DEPOSIT, "contract balance");
        vm.assertEq(payer.balance, PAYER_ETH - ETH_DEPOSIT, "payer balance");
    }

    function test_Open_ReturnsDocumentedId() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        vm.assertEq(id, keccak256(abi.encode(payer, provider, signer, NATIVE, SALT)), "id formula");
        vm.assertEq(id, channels.channelId(payer, provider, signer, NATIVE, SALT), "channelId view");
    }

    function test_Open_Eth_Emits() public {
        bytes32 id = channels.channelId(payer, provider, signer, NATIVE, SALT);
        vm.expectEmit(address(channels));
        emit PaymentChannels.ChannelOpened(id, payer, provider, signer, NATIVE, ETH_DEPOSIT);
        _openEth(ETH_DEPOSIT);
    }

    function test_Open_Token_PullsAndEmits() public {
        bytes32 id = channels.channelId(payer, provider, signer, address(tusd), SALT);
        vm.expectEmit(address(channels));
        emit PaymentChannels.ChannelOpened(id, payer, provider, signer, address(tusd), TUSD_DEPOSIT);
        _openTusd(TUSD_DEPOSIT);

        vm.assertEq(_deposit(id), TUSD_DEPOSIT, "deposit");
        vm.assertEq(channels.getChannel(id).asset, address(tusd), "asset");
        vm.assertEq(tusd.balanceOf(address(channels)), TUSD_DEPOSIT, "contract balance");
        vm.assertEq(tusd.balanceOf(payer), PAYER_TUSD - TUSD_DEPOSIT, "payer balance");
    }

    function test_Open_SignerMayEqualPayer() public {
        vm.prank(payer);
        bytes32 id = channels.open{value: ETH_DEPOSIT}(provider, payer, NATIVE, ETH_DEPOSIT, SALT);
        vm.assertEq(channels.getChannel(id).signer, payer, "signer");
    }

    function test_Open_OtherSaltOpensSecondChannel() public {
        bytes32 a = _openEthWithSalt(ETH_DEPOSIT, SALT);
        bytes32 b = _openEthWithSalt(ETH_DEPOSIT, OTHER_SALT);
        vm.assertNotEq(a, b, "distinct ids");
        vm.assertEq(address(channels).balance, 2 * ETH_DEPOSIT, "both funded");
    }

    function test_Open_RevertsOnZeroProvider() public {
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ZeroAddress.selector));
        channels.open{value: ETH_DEPOSIT}(address(0), signer, NATIVE, ETH_DEPOSIT, SALT);
    }

    function test_Open_RevertsOnZeroSigner() public {
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ZeroAddress.selector));
        channels.open{value: ETH_DEPOSIT}(provider, address(0), NATIVE, ETH_DEPOSIT, SALT);
    }

    function test_Open_RevertsOnZeroAmount_Eth() public {
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ZeroAmount.selector));
        channels.open(provider, signer, NATIVE, 0, SALT);
    }

    function test_Open_RevertsOnZeroAmount_Token() public {
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ZeroAmount.selector));
        channels.open(provider, signer, address(tusd), 0, SALT);
    }

    function test_Open_RevertsWhenValueDiffersFromAmount() public {
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.WrongValue.selector));
        channels.open{value: ETH_DEPOSIT - 1}(provider, signer, NATIVE, ETH_DEPOSIT, SALT);
    }

    function test_Open_RevertsWhenValueSentWithToken() public {
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.WrongValue.selector));
        channels.open{value: 1}(provider, signer, address(tusd), TUSD_DEPOSIT, SALT);
    }

    function test_Open_RevertsWhenChannelExists() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ChannelExists.selector, id));
        channels.open{value: ETH_DEPOSIT}(provider, signer, NATIVE, ETH_DEPOSIT, SALT);
    }

    function test_Open_RevertsAboveUint128() public {
        uint256 tooMuch = uint256(type(uint128).max) + 1;
        vm.prank(tokenOwner);
        tusd.mint(payer, tooMuch);
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.AmountTooLarge.selector));
        channels.open(provider, signer, address(tusd), tooMuch, SALT);
    }

    function test_Open_Uint128MaxIsAccepted() public {
        uint256 most = type(uint128).max;
        vm.deal(payer, most);
        vm.prank(payer);
        bytes32 id = channels.open{value: most}(provider, signer, NATIVE, most, SALT);
        vm.assertEq(_deposit(id), most, "deposit");
    }

    function test_Open_RevertsWithoutAllowance() public {
        vm.prank(payer);
        tusd.approve(address(channels), 0);
        vm.prank(payer);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(channels), 0, TUSD_DEPOSIT)
        );
        channels.open(provider, signer, address(tusd), TUSD_DEPOSIT, SALT);
    }

    function test_Open_RevertsOnTokenWithoutCode() public {
        address notAToken = makeAddr("notAToken");
        vm.prank(payer);
        vm.expectRevert(); // balanceOf on an address without code returns no data
        channels.open(provider, signer, notAToken, TUSD_DEPOSIT, SALT);
    }
}

contract PaymentChannelsPermitTest is ChannelsFixture {
    uint256 private constant PERMIT_LIFETIME = 1 days;

    function setUp() public override {
        super.setUp();
        vm.prank(payer);
        tusd.approve(address(channels), 0); // permit is the only approval
    }

    function test_OpenWithPermit_Opens() public {
        uint256 deadline = block.timestamp + PERMIT_LIFETIME;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(payerKey, payer, TUSD_DEPOSIT, deadline);
        bytes32 id = channels.channelId(payer, provider, signer, address(tusd), SALT);

        vm.expectEmit(address(channels));
        emit PaymentChannels.ChannelOpened(id, payer, provider, signer, address(tusd), TUSD_DEPOSIT);
        vm.prank(payer);
        bytes32 got = channels.openWithPermit(provider, signer, address(tusd), TUSD_DEPOSIT, SALT, deadline, v, r, s);

        vm.assertEq(got, id, "id");
        vm.assertEq(_deposit(id), TUSD_DEPOSIT, "deposit");
        vm.assertEq(tusd.nonces(payer), 1, "permit consumed");
        vm.assertEq(tusd.allowance(payer, address(channels)), 0, "allowance spent");
        vm.assertEq(tusd.balanceOf(address(channels)), TUSD_DEPOSIT, "contract balance");
    }

    /// @dev Someone copies the permit from the mempool and submits it first.
    /// The permit inside openWithPermit then fails, but the allowance it set
    /// is there, so the open still goes through.
    function test_OpenWithPermit_FrontRunPermitStillOpens() public {
        uint256 deadline = block.timestamp + PERMIT_LIFETIME;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(payerKey, payer, TUSD_DEPOSIT, deadline);

        vm.prank(stranger);
        tusd.permit(payer, address(channels), TUSD_DEPOSIT, deadline, v, r, s);
        vm.assertEq(tusd.allowance(payer, address(channels)), TUSD_DEPOSIT, "front-run allowance");

        vm.prank(payer);
        bytes32 id = channels.openWithPermit(provider, signer, address(tusd), TUSD_DEPOSIT, SALT, deadline, v, r, s);
        vm.assertEq(_deposit(id), TUSD_DEPOSIT, "deposit");
        vm.assertEq(tusd.allowance(payer, address(channels)), 0, "allowance spent");
    }

    function test_OpenWithPermit_ExistingAllowanceCoversABadPermit() public {
        vm.prank(payer);
        tusd.approve(address(channels), TUSD_DEPOSIT);
        vm.prank(payer);
        bytes32 id =
            channels.openWithPermit(provider, signer, address(tusd), TUSD_DEPOSIT, SALT, 0, 27, bytes32(0), bytes32(0));
        vm.assertEq(_deposit(id), TUSD_DEPOSIT, "deposit");
    }

    function test_OpenWithPermit_RevertsOnNative() public {
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ZeroAddress.selector));
        channels.openWithPermit(provider, signer, NATIVE, ETH_DEPOSIT, SALT, 0, 0, bytes32(0), bytes32(0));
    }

    function test_OpenWithPermit_RevertsOnPermitOfAnotherOwner() public {
        uint256 deadline = block.timestamp + PERMIT_LIFETIME;
        // The stranger signs a permit for the payer's tokens: invalid, no allowance.
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(signerKey, payer, TUSD_DEPOSIT, deadline);
        vm.prank(payer);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(channels), 0, TUSD_DEPOSIT)
        );
        channels.openWithPermit(provider, signer, address(tusd), TUSD_DEPOSIT, SALT, deadline, v, r, s);
    }

    function test_OpenWithPermit_RevertsOnExpiredPermit() public {
        uint256 deadline = block.timestamp + PERMIT_LIFETIME;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(payerKey, payer, TUSD_DEPOSIT, deadline);
        vm.warp(deadline + 1);
        vm.prank(payer);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(channels), 0, TUSD_DEPOSIT)
        );
        channels.openWithPermit(provider, signer, address(tusd), TUSD_DEPOSIT, SALT, deadline, v, r, s);
    }

    function test_OpenWithPermit_RevertsOnPermitForLessThanAmount() public {
        uint256 deadline = block.timestamp + PERMIT_LIFETIME;
        uint256 less = TUSD_DEPOSIT - 1;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(payerKey, payer, less, deadline);
        vm.prank(payer);
        // The permit names `amount`, so a permit signed for less does not verify.
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(channels), 0, TUSD_DEPOSIT)
        );
        channels.openWithPermit(provider, signer, address(tusd), TUSD_DEPOSIT, SALT, deadline, v, r, s);
    }

    function test_OpenWithPermit_RevertsWhenChannelExists() public {
        uint256 deadline = block.timestamp + PERMIT_LIFETIME;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(payerKey, payer, TUSD_DEPOSIT, deadline);
        vm.prank(payer);
        bytes32 id = channels.openWithPermit(provider, signer, address(tusd), TUSD_DEPOSIT, SALT, deadline, v, r, s);

        (v, r, s) = _signPermit(payerKey, payer, TUSD_DEPOSIT, deadline);
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ChannelExists.selector, id));
        channels.openWithPermit(provider, signer, address(tusd), TUSD_DEPOSIT, SALT, deadline, v, r, s);
    }

    function test_OpenWithPermit_RevertsOnZeroProvider() public {
        uint256 deadline = block.timestamp + PERMIT_LIFETIME;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(payerKey, payer, TUSD_DEPOSIT, deadline);
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ZeroAddress.selector));
        channels.openWithPermit(address(0), signer, address(tusd), TUSD_DEPOSIT, SALT, deadline, v, r, s);
    }

    function test_OpenWithPermit_RevertsOnZeroAmount() public {
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ZeroAmount.selector));
        channels.openWithPermit(provider, signer, address(tusd), 0, SALT, 0, 0, bytes32(0), bytes32(0));
    }
}

contract PaymentChannelsTopUpTest is ChannelsFixture {
    uint256 private constant TOP_UP = 0.25 ether;
    uint256 private constant TUSD_TOP_UP = 40 * ONE_TUSD;

    function test_TopUp_Eth() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        vm.expectEmit(address(channels));
        emit PaymentChannels.ChannelToppedUp(id, TOP_UP, ETH_DEPOSIT + TOP_UP);
        vm.prank(payer);
        channels.topUp{value: TOP_UP}(id, TOP_UP);
        vm.assertEq(_deposit(id), ETH_DEPOSIT + TOP_UP, "deposit");
        vm.assertEq(address(channels).balance, ETH_DEPOSIT + TOP_UP, "contract balance");
    }

    function test_TopUp_Token() public {
        bytes32 id = _openTusd(TUSD_DEPOSIT);
        vm.expectEmit(address(channels));
        emit PaymentChannels.ChannelToppedUp(id, TUSD_TOP_UP, TUSD_DEPOSIT + TUSD_TOP_UP);
        vm.prank(payer);
        channels.topUp(id, TUSD_TOP_UP);
        vm.assertEq(_deposit(id), TUSD_DEPOSIT + TUSD_TOP_UP, "deposit");
        vm.assertEq(tusd.balanceOf(address(channels)), TUSD_DEPOSIT + TUSD_TOP_UP, "contract balance");
    }

    function test_TopUp_ByStrangerStillRefundsPayer() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        vm.prank(stranger);
        channels.topUp{value: TOP_UP}(id, TOP_UP);

        uint256 before = payer.balance;
        _withdraw(id);
        vm.assertEq(payer.balance - before, ETH_DEPOSIT + TOP_UP, "payer gets the stranger's top-up");
        vm.assertEq(channels.getChannel(id).payer, payer, "payer unchanged");
    }

    function test_TopUp_AfterClaimRaisesHeadroom() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        _claimAsProvider(id, ETH_DEPOSIT);
        vm.prank(payer);
        channels.topUp{value: TOP_UP}(id, TOP_UP);
        _claimAsProvider(id, ETH_DEPOSIT + TOP_UP);
        vm.assertEq(_claimed(id), ETH_DEPOSIT + TOP_UP, "claimed the top-up too");
    }

    function test_TopUp_RevertsOnUnknownChannel() public {
        bytes32 unknown = keccak256("unknown");
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.UnknownChannel.selector, unknown));
        channels.topUp{value: TOP_UP}(unknown, TOP_UP);
    }

    function test_TopUp_RevertsWhileWithdrawalPending() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        _requestWithdrawal(id);
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.WithdrawalPending.selector, id));
        channels.topUp{value: TOP_UP}(id, TOP_UP);
    }

    function test_TopUp_RevertsOnClosedChannel() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        _withdraw(id);
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ChannelClosed.selector, id));
        channels.topUp{value: TOP_UP}(id, TOP_UP);
    }

    function test_TopUp_RevertsOnZeroAmount() public {
        bytes32 id = _openTusd(TUSD_DEPOSIT);
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ZeroAmount.selector));
        channels.topUp(id, 0);
    }

    function test_TopUp_RevertsWhenValueDiffersFromAmount() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.WrongValue.selector));
        channels.topUp{value: TOP_UP + 1}(id, TOP_UP);
    }

    function test_TopUp_RevertsWhenValueSentWithToken() public {
        bytes32 id = _openTusd(TUSD_DEPOSIT);
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.WrongValue.selector));
        channels.topUp{value: 1}(id, TUSD_TOP_UP);
    }

    function test_TopUp_RevertsAboveUint128() public {
        bytes32 id = _openTusd(TUSD_DEPOSIT);
        uint256 overflow = uint256(type(uint128).max) - TUSD_DEPOSIT + 1;
        vm.prank(tokenOwner);
        tusd.mint(payer, overflow);
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.AmountTooLarge.selector));
        channels.topUp(id, overflow);
    }
}

contract PaymentChannelsClaimTest is ChannelsFixture {
    uint256 private constant CHARGED = 0.3 ether;
    uint256 private constant VOUCHER = 0.5 ether;
    uint256 private constant TUSD_CHARGED = 123 * ONE_TUSD;
    uint256 private constant MANY = 7;

    function test_Claim_OneEthChannel() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        PaymentChannels.Claim[] memory b = _batch(_claim(id, VOUCHER, CHARGED));

        vm.expectEmit(address(channels));
        emit PaymentChannels.Claimed(id, provider, CHARGED, CHARGED, VOUCHER, RECEIPTS_ROOT);
        vm.prank(provider);
        channels.claimMany(b);

        vm.assertEq(_claimed(id), CHARGED, "claimed");
        vm.assertEq(provider.balance, CHARGED, "provider paid");
        vm.assertEq(address(channels).balance, ETH_DEPOSIT - CHARGED, "contract balance");
    }

    function test_Claim_OneTokenChannel() public {
        bytes32 id = _openTusd(TUSD_DEPOSIT);
        _claimAsProvider(id, TUSD_CHARGED);
        vm.assertEq(tusd.balanceOf(provider), TUSD_CHARGED, "provider paid");
        vm.assertEq(tusd.balanceOf(address(channels)), TUSD_DEPOSIT - TUSD_CHARGED, "contract balance");
    }

    function test_Claim_ManyChannelsPayOnce() public {
        PaymentChannels.Claim[] memory b = new PaymentChannels.Claim[](MANY);
        uint256 total;
        for (uint256 i; i < MANY; ++i) {
            bytes32 id = _openTusdWithSalt(TUSD_DEPOSIT, bytes32(i));
            uint256 amount = (i + 1) * ONE_TUSD;
            b[i] = _claim(id, amount, amount);
            total += amount;
        }
        // One transfer for the whole batch, of the sum.
        vm.expectCall(address(tusd), abi.encodeCall(tusd.transfer, (provider, total)), 1);
        vm.prank(provider);
        channels.claimMany(b);
        vm.assertEq(tusd.balanceOf(provider), total, "provider paid the sum");
        for (uint256 i; i < MANY; ++i) {
            vm.assertEq(_claimed(b[i].channelId), (i + 1) * ONE_TUSD, "claimed per channel");
        }
    }

    function test_Claim_MixedAssetsSumPerAsset() public {
        bytes32 eth1 = _openEthWithSalt(ETH_DEPOSIT, SALT);
        bytes32 usd1 = _openTusdWithSalt(TUSD_DEPOSIT, SALT);
        bytes32 eth2 = _openEthWithSalt(ETH_DEPOSIT, OTHER_SALT);
        bytes32 usd2 = _openTusdWithSalt(TUSD_DEPOSIT, OTHER_SALT);

        uint256 eth1Amount = 0.1 ether;
        uint256 eth2Amount = 0.2 ether;
        uint256 usd1Amount = 5 * ONE_TUSD;
        uint256 usd2Amount = 7 * ONE_TUSD;
        PaymentChannels.Claim[] memory b = new PaymentChannels.Claim[](4);
        b[0] = _claim(eth1, eth1Amount, eth1Amount);
        b[1] = _claim(usd1, usd1Amount, usd1Amount);
        b[2] = _claim(eth2, eth2Amount, eth2Amount);
        b[3] = _claim(usd2, usd2Amount, usd2Amount);

        vm.expectCall(address(tusd), abi.encodeCall(tusd.transfer, (provider, usd1Amount + usd2Amount)), 1);
        vm.prank(provider);
        channels.claimMany(b);

        vm.assertEq(provider.balance, eth1Amount + eth2Amount, "ETH summed");
        vm.assertEq(tusd.balanceOf(provider), usd1Amount + usd2Amount, "TUSD summed");
        vm.assertEq(address(channels).balance, 2 * ETH_DEPOSIT - eth1Amount - eth2Amount, "ETH held");
        vm.assertEq(tusd.balanceOf(address(channels)), 2 * TUSD_DEPOSIT - usd1Amount - usd2Amount, "TUSD held");
    }

    function test_Claim_BelowVoucherClaimsOnlyCharged() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        PaymentChannels.Claim[] memory b = _batch(_claim(id, ETH_DEPOSIT, CHARGED));
        vm.prank(provider);
        channels.claimMany(b);
        vm.assertEq(_claimed(id), CHARGED, "claimed charged, not the voucher");
    }

    function test_Claim_VoucherAboveDepositClaimsUpToDeposit() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        PaymentChannels.Claim[] memory b = _batch(_claim(id, 2 * ETH_DEPOSIT, ETH_DEPOSIT));
        vm.prank(provider);
        channels.claimMany(b);
        vm.assertEq(_claimed(id), ETH_DEPOSIT, "whole deposit");
    }

    function test_Claim_IsCumulativeAndPaysTheDelta() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        _claimAsProvider(id, CHARGED);
        PaymentChannels.Claim[] memory b = _batch(_claim(id, VOUCHER, VOUCHER));
        vm.expectEmit(address(channels));
        emit PaymentChannels.Claimed(id, provider, VOUCHER - CHARGED, VOUCHER, VOUCHER, RECEIPTS_ROOT);
        vm.prank(provider);
        channels.claimMany(b);
        vm.assertEq(provider.balance, VOUCHER, "paid the cumulative total once");
    }

    function test_Claim_SameChannelTwiceInOneBatch() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        PaymentChannels.Claim[] memory b = _batch(_claim(id, CHARGED, CHARGED), _claim(id, VOUCHER, VOUCHER));
        vm.prank(provider);
        channels.claimMany(b);
        vm.assertEq(_claimed(id), VOUCHER, "claimed");
        vm.assertEq(provider.balance, VOUCHER, "paid once in total");
    }

    function test_Claim_OlderVoucherStillValidAboveClaimed() public {
        // Vouchers have no nonce: any voucher ≥ the new amount authorizes it.
        bytes32 id = _openEth(ETH_DEPOSIT);
        PaymentChannels.Claim memory older = _claim(id, VOUCHER, CHARGED);
        _claimAsProvider(id, CHARGED - 1);
        vm.prank(provider);
        channels.claimMany(_batch(older));
        vm.assertEq(_claimed(id), CHARGED, "claimed");
    }

    function test_Claim_AllowedWhileWithdrawalPending() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        _requestWithdrawal(id);
        vm.warp(block.timestamp + WITHDRAWAL_DELAY - 1);
        _claimAsProvider(id, CHARGED);
        vm.assertEq(_claimed(id), CHARGED, "claimed inside the window");
    }

    function test_Claim_AllowedAfterDelayUntilFinalized() public {
        // The delay is the provider's guaranteed window; past it the provider
        // may still claim until the payer actually finalizes.
        bytes32 id = _openEth(ETH_DEPOSIT);
        _requestWithdrawal(id);
        vm.warp(block.timestamp + WITHDRAWAL_DELAY + 1);
        _claimAsProvider(id, CHARGED);
        vm.assertEq(_claimed(id), CHARGED, "claimed");
    }

    function test_Claim_RevertsAfterFinalize() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        PaymentChannels.Claim[] memory b = _batch(_claim(id, VOUCHER, VOUCHER));
        _withdraw(id);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ChannelClosed.selector, id));
        channels.claimMany(b);
    }

    function test_Claim_RevertsOnEmptyBatch() public {
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.EmptyBatch.selector));
        channels.claimMany(new PaymentChannels.Claim[](0));
    }

    function test_Claim_RevertsOnUnknownChannel() public {
        bytes32 unknown = keccak256("unknown");
        PaymentChannels.Claim[] memory b = _batch(_claim(unknown, VOUCHER, VOUCHER));
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.UnknownChannel.selector, unknown));
        channels.claimMany(b);
    }

    function test_Claim_RevertsForStranger() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        PaymentChannels.Claim[] memory b = _batch(_claim(id, VOUCHER, VOUCHER));
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NotProvider.selector, id));
        channels.claimMany(b);
    }

    function test_Claim_RevertsForPayerAndSigner() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        PaymentChannels.Claim[] memory b = _batch(_claim(id, VOUCHER, VOUCHER));
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NotProvider.selector, id));
        channels.claimMany(b);
        vm.prank(signer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NotProvider.selector, id));
        channels.claimMany(b);
    }

    function test_Claim_RevertsOnZeroAmount() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        PaymentChannels.Claim[] memory b = _batch(_claim(id, VOUCHER, 0));
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ClaimNotIncreasing.selector, id, 0, 0));
        channels.claimMany(b);
    }

    function test_Claim_RevertsWhenNotIncreasing() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        _claimAsProvider(id, CHARGED);

        PaymentChannels.Claim[] memory same = _batch(_claim(id, VOUCHER, CHARGED));
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ClaimNotIncreasing.selector, id, CHARGED, CHARGED));
        channels.claimMany(same);

        PaymentChannels.Claim[] memory lower = _batch(_claim(id, VOUCHER, CHARGED - 1));
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ClaimNotIncreasing.selector, id, CHARGED - 1, CHARGED));
        channels.claimMany(lower);
    }

    function test_Claim_RevertsAboveVoucher() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        PaymentChannels.Claim[] memory b = _batch(_claim(id, CHARGED, CHARGED + 1));
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ClaimAboveVoucher.selector, id, CHARGED + 1, CHARGED));
        channels.claimMany(b);
    }

    function test_Claim_RevertsAboveDeposit() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        PaymentChannels.Claim[] memory b = _batch(_claim(id, 2 * ETH_DEPOSIT, ETH_DEPOSIT + 1));
        vm.prank(provider);
        vm.expectRevert(
            abi.encodeWithSelector(PaymentChannels.ClaimAboveDeposit.selector, id, ETH_DEPOSIT + 1, ETH_DEPOSIT)
        );
        channels.claimMany(b);
    }

    function test_Claim_RevertsOnVoucherAmountNotSigned() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        PaymentChannels.Claim memory c = _claim(id, CHARGED, CHARGED);
        c.voucherAmount = VOUCHER; // the signature covers CHARGED
        c.amount = VOUCHER;
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.InvalidSignature.selector, id));
        channels.claimMany(_batch(c));
    }

    function test_Claim_RevertsOnVoucherOfAnotherChannel() public {
        bytes32 a = _openEthWithSalt(ETH_DEPOSIT, SALT);
        bytes32 b = _openEthWithSalt(ETH_DEPOSIT, OTHER_SALT);
        PaymentChannels.Claim memory c = _claim(a, VOUCHER, VOUCHER);
        c.channelId = b; // same signer, but the voucher names channel a
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.InvalidSignature.selector, b));
        channels.claimMany(_batch(c));
    }

    function test_Claim_RevertsOnGarbageSignature() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        PaymentChannels.Claim memory c = _claim(id, VOUCHER, VOUCHER);
        c.r = bytes32(0);
        c.vs = bytes32(0);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.InvalidSignature.selector, id));
        channels.claimMany(_batch(c));
    }

    function test_Claim_BatchIsAtomic() public {
        bytes32 good = _openEthWithSalt(ETH_DEPOSIT, SALT);
        bytes32 bad = _openEthWithSalt(ETH_DEPOSIT, OTHER_SALT);
        PaymentChannels.Claim[] memory b =
            _batch(_claim(good, CHARGED, CHARGED), _claimSignedBy(payerKey, bad, CHARGED, CHARGED));
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.InvalidSignature.selector, bad));
        channels.claimMany(b);
        vm.assertEq(_claimed(good), 0, "nothing claimed on the good channel");
        vm.assertEq(provider.balance, 0, "nothing paid");
    }

    function test_Claim_RevertsWhenProviderRefusesEth() public {
        RejectingReceiver refuser = new RejectingReceiver();
        vm.prank(payer);
        bytes32 id = channels.open{value: ETH_DEPOSIT}(address(refuser), signer, NATIVE, ETH_DEPOSIT, SALT);
        PaymentChannels.Claim[] memory b = _batch(_claim(id, CHARGED, CHARGED));
        vm.prank(address(refuser));
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.TransferFailed.selector));
        channels.claimMany(b);
    }
}

contract PaymentChannelsWithdrawalTest is ChannelsFixture {
    uint256 private constant CHARGED = 0.3 ether;
    uint256 private constant TUSD_CHARGED = 333_333_333; // 333.333333 TUSD, odd on purpose

    function test_RequestWithdrawal_SetsDeadlineAndEmits() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        uint64 at = uint64(block.timestamp) + WITHDRAWAL_DELAY;
        vm.expectEmit(address(channels));
        emit PaymentChannels.WithdrawalRequested(id, at);
        _requestWithdrawal(id);
        vm.assertEq(uint256(channels.getChannel(id).withdrawableAt), at, "withdrawableAt");
    }

    function test_RequestWithdrawal_RevertsOnUnknownChannel() public {
        bytes32 unknown = keccak256("unknown");
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.UnknownChannel.selector, unknown));
        channels.requestWithdrawal(unknown);
    }

    function test_RequestWithdrawal_RevertsForNonPayer() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        address[3] memory others = [provider, signer, stranger];
        for (uint256 i; i < others.length; ++i) {
            vm.prank(others[i]);
            vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NotPayer.selector, id));
            channels.requestWithdrawal(id);
        }
    }

    function test_RequestWithdrawal_RevertsWhenAlreadyPending() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        _requestWithdrawal(id);
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.WithdrawalPending.selector, id));
        channels.requestWithdrawal(id);
    }

    function test_RequestWithdrawal_RevertsOnClosedChannel() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        _withdraw(id);
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ChannelClosed.selector, id));
        channels.requestWithdrawal(id);
    }

    function test_Finalize_RefundsDepositMinusClaimed_Eth() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        _claimAsProvider(id, CHARGED);
        uint256 payerBefore = payer.balance;

        _requestWithdrawal(id);
        vm.warp(block.timestamp + WITHDRAWAL_DELAY);
        vm.expectEmit(address(channels));
        emit PaymentChannels.Withdrawn(id, payer, ETH_DEPOSIT - CHARGED);
        vm.prank(payer);
        channels.finalizeWithdrawal(id);

        vm.assertEq(payer.balance - payerBefore, ETH_DEPOSIT - CHARGED, "refund to the wei");
        vm.assertEq(address(channels).balance, 0, "nothing left behind");
        vm.assertTrue(channels.getChannel(id).closed, "closed");
    }

    function test_Finalize_RefundsDepositMinusClaimed_Token() public {
        uint256 topUp = 1; // one base unit, to see the last unit come back
        bytes32 id = _openTusd(TUSD_DEPOSIT);
        vm.prank(payer);
        channels.topUp(id, topUp);
        _claimAsProvider(id, TUSD_CHARGED);

        _withdraw(id);
        uint256 refund = TUSD_DEPOSIT + topUp - TUSD_CHARGED;
        vm.assertEq(tusd.balanceOf(payer), PAYER_TUSD - TUSD_DEPOSIT - topUp + refund, "refund to the unit");
        vm.assertEq(tusd.balanceOf(provider), TUSD_CHARGED, "provider kept its claim");
        vm.assertEq(tusd.balanceOf(address(channels)), 0, "nothing left behind");
    }

    function test_Finalize_NothingToRefundStillCloses() public {
        bytes32 id = _openTusd(TUSD_DEPOSIT);
        _claimAsProvider(id, TUSD_DEPOSIT);
        _requestWithdrawal(id);
        vm.warp(block.timestamp + WITHDRAWAL_DELAY);
        vm.expectCall(address(tusd), abi.encodeWithSelector(tusd.transfer.selector), 0);
        vm.expectEmit(address(channels));
        emit PaymentChannels.Withdrawn(id, payer, 0);
        vm.prank(payer);
        channels.finalizeWithdrawal(id);
        vm.assertTrue(channels.getChannel(id).closed, "closed");
    }

    function test_Finalize_AtExactDeadline() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        _requestWithdrawal(id);
        uint64 at = channels.getChannel(id).withdrawableAt;

        vm.warp(at - 1);
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.WithdrawalTooEarly.selector, id, at));
        channels.finalizeWithdrawal(id);

        vm.warp(at);
        vm.prank(payer);
        channels.finalizeWithdrawal(id);
        vm.assertTrue(channels.getChannel(id).closed, "closed at the deadline");
    }

    function test_Finalize_RevertsOnUnknownChannel() public {
        bytes32 unknown = keccak256("unknown");
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.UnknownChannel.selector, unknown));
        channels.finalizeWithdrawal(unknown);
    }

    function test_Finalize_RevertsForNonPayer() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        _requestWithdrawal(id);
        vm.warp(block.timestamp + WITHDRAWAL_DELAY);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NotPayer.selector, id));
        channels.finalizeWithdrawal(id);
    }

    function test_Finalize_RevertsWithoutRequest() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.WithdrawalNotRequested.selector, id));
        channels.finalizeWithdrawal(id);
    }

    function test_Finalize_RevertsTwice() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        _withdraw(id);
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ChannelClosed.selector, id));
        channels.finalizeWithdrawal(id);
    }

    function test_Finalize_RevertsWhenPayerRefusesEth() public {
        RejectingReceiver refuser = new RejectingReceiver();
        vm.deal(address(refuser), ETH_DEPOSIT);
        vm.prank(address(refuser));
        bytes32 id = channels.open{value: ETH_DEPOSIT}(provider, signer, NATIVE, ETH_DEPOSIT, SALT);
        vm.prank(address(refuser));
        channels.requestWithdrawal(id);
        vm.warp(block.timestamp + WITHDRAWAL_DELAY);
        vm.prank(address(refuser));
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.TransferFailed.selector));
        channels.finalizeWithdrawal(id);
        vm.assertFalse(channels.getChannel(id).closed, "still open, funds kept");
    }

    function test_Reopen_SameSaltAfterCloseReverts() public {
        bytes32 id = _openEth(ETH_DEPOSIT);
        _withdraw(id);
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ChannelExists.selector, id));
        channels.open{value: ETH_DEPOSIT}(provider, signer, NATIVE, ETH_DEPOSIT, SALT);
    }
}

contract PaymentChannelsViewsTest is ChannelsFixture {
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant JOB_ID = keccak256("job-1");
    bytes32 private constant RESULT_HASH = keccak256("result");
    uint256 private constant COST = 1234;
    uint256 private constant CUMULATIVE = 99_999;
    uint64 private constant IN_TOKENS = 17;
    uint64 private constant OUT_TOKENS = 42;

    function _domainSeparator() private view returns (bytes32) {
        return
            keccak256(
                abi.encode(DOMAIN_TYPEHASH, keccak256("paynode"), keccak256("1"), block.chainid, address(channels))
            );
    }

    function test_Constants() public view {
        vm.assertEq(channels.NATIVE(), address(0), "NATIVE");
        vm.assertEq(
            channels.VOUCHER_TYPEHASH(), keccak256("Voucher(bytes32 channelId,uint256 cumulativeAmount)"), "voucher"
        );
        vm.assertEq(
            channels.RECEIPT_TYPEHASH(),
            keccak256(
                "Receipt(bytes32 channelId,bytes32 jobId,uint256 cost,uint256 cumulativeCharged,uint64 inputTokens,uint64 outputTokens,bytes32 resultHash)"
            ),
            "receipt"
        );
        vm.assertEq(uint256(channels.withdrawalDelay()), WITHDRAWAL_DELAY, "delay");
    }

    function test_DomainSeparator() public view {
        vm.assertEq(channels.domainSeparator(), _domainSeparator(), "domain separator");
        (, string memory name, string memory version, uint256 chainId, address verifying,,) = channels.eip712Domain();
        vm.assertEq(name, "paynode", "name");
        vm.assertEq(version, "1", "version");
        vm.assertEq(chainId, block.chainid, "chainId");
        vm.assertEq(verifying, address(channels), "verifyingContract");
    }

    function test_HashVoucher() public view {
        bytes32 id = keccak256("channel");
        uint256 amount = 123_456_789;
        bytes32 structHash = keccak256(abi.encode(channels.VOUCHER_TYPEHASH(), id, amount));
        bytes32 want = keccak256(abi.encodePacked("\x19\x01", _domainSeparator(), structHash));
        vm.assertEq(channels.hashVoucher(id, amount), want, "voucher digest");
    }

    function test_HashReceipt() public view {
        bytes32 id = keccak256("channel");
        bytes32 structHash = keccak256(
            abi.encode(channels.RECEIPT_TYPEHASH(), id, JOB_ID, COST, CUMULATIVE, IN_TOKENS, OUT_TOKENS, RESULT_HASH)
        );
        vm.assertEq(
            channels.hashReceiptStruct(id, JOB_ID, COST, CUMULATIVE, IN_TOKENS, OUT_TOKENS, RESULT_HASH),
            structHash,
            "struct hash"
        );
        vm.assertEq(
            channels.hashReceipt(id, JOB_ID, COST, CUMULATIVE, IN_TOKENS, OUT_TOKENS, RESULT_HASH),
            keccak256(abi.encodePacked("\x19\x01", _domainSeparator(), structHash)),
            "receipt digest"
        );
    }

    function test_GetChannel_UnknownIsZero() public view {
        PaymentChannels.Channel memory c = channels.getChannel(keccak256("unknown"));
        vm.assertEq(c.provider, address(0), "provider");
        vm.assertEq(uint256(c.deposit), 0, "deposit");
    }
}
