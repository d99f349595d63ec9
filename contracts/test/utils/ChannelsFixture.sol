// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./Test.sol";
import {PaymentChannels} from "../../src/PaymentChannels.sol";
import {TestUSD} from "../../src/TestUSD.sol";

/// @notice Keys, contracts and helpers shared by the PaymentChannels tests:
/// a payer (funding wallet), a signer (the agent's hot key, different from
/// the payer), a provider, and a stranger; ETH and TestUSD channels.
abstract contract ChannelsFixture is Test {
    uint64 internal constant WITHDRAWAL_DELAY = 1 hours;

    uint256 internal constant ONE_TUSD = 1e6; // TestUSD has 6 decimals
    uint256 internal constant ETH_DEPOSIT = 1 ether;
    uint256 internal constant TUSD_DEPOSIT = 1_000 * ONE_TUSD;
    uint256 internal constant PAYER_ETH = 1_000 ether;
    uint256 internal constant PAYER_TUSD = 1_000_000 * ONE_TUSD;

    bytes32 internal constant SALT = keccak256("salt-1");
    bytes32 internal constant OTHER_SALT = keccak256("salt-2");
    bytes32 internal constant RECEIPTS_ROOT = keccak256("receipts-root");

    address internal constant NATIVE = address(0);

    PaymentChannels internal channels;
    TestUSD internal tusd;

    address internal tokenOwner;
    uint256 internal payerKey;
    address internal payer;
    uint256 internal signerKey;
    address internal signer;
    uint256 internal providerKey;
    address internal provider;
    address internal stranger;

    function setUp() public virtual {
        tokenOwner = makeAddr("tokenOwner");
        (payerKey, payer) = makeKey("payer");
        (signerKey, signer) = makeKey("signer");
        (providerKey, provider) = makeKey("provider");
        stranger = makeAddr("stranger");

        channels = new PaymentChannels(WITHDRAWAL_DELAY);
        tusd = new TestUSD(tokenOwner);
        vm.label(address(channels), "PaymentChannels");
        vm.label(address(tusd), "TestUSD");

        vm.deal(payer, PAYER_ETH);
        vm.deal(stranger, PAYER_ETH);
        vm.startPrank(tokenOwner);
        tusd.mint(payer, PAYER_TUSD);
        tusd.mint(stranger, PAYER_TUSD);
        vm.stopPrank();
        vm.prank(payer);
        tusd.approve(address(channels), type(uint256).max);
        vm.prank(stranger);
        tusd.approve(address(channels), type(uint256).max);
    }

    // ------------------------------------------------------------------ open

    function _openEth(uint256 amount) internal returns (bytes32) {
        return _openEthWithSalt(amount, SALT);
    }

    function _openEthWithSalt(uint256 amount, bytes32 salt) internal returns (bytes32 id) {
        vm.prank(payer);
        id = channels.open{value: amount}(provider, signer, NATIVE, amount, salt);
    }

    function _openTusd(uint256 amount) internal returns (bytes32) {
        return _openTusdWithSalt(amount, SALT);
    }

    function _openTusdWithSalt(uint256 amount, bytes32 salt) internal returns (bytes32 id) {
        vm.prank(payer);
        id = channels.open(provider, signer, address(tusd), amount, salt);
    }

    // -------------------------------------------------------------- vouchers

    /// @dev Signs Voucher(id, amount) with `key` in the EIP-2098 compact form
    /// the contract takes: r, vs = s | (v - 27) << 255.
    function _signVoucher(uint256 key, bytes32 id, uint256 amount) internal view returns (bytes32 r, bytes32 vs) {
        return _signCompact(key, channels.hashVoucher(id, amount));
    }

    function _signCompact(uint256 key, bytes32 digest) internal pure returns (bytes32 r, bytes32 vs) {
        (uint8 v, bytes32 r_, bytes32 s) = vm.sign(key, digest);
        r = r_;
        vs = bytes32(uint256(s) | (uint256(v - 27) << 255));
    }

    /// @dev A claim of `amount` backed by a voucher for `voucherAmount`
    /// signed by the channel's signer.
    function _claim(bytes32 id, uint256 voucherAmount, uint256 amount)
        internal
        view
        returns (PaymentChannels.Claim memory)
    {
        return _claimSignedBy(signerKey, id, voucherAmount, amount);
    }

    function _claimSignedBy(uint256 key, bytes32 id, uint256 voucherAmount, uint256 amount)
        internal
        view
        returns (PaymentChannels.Claim memory c)
    {
        (bytes32 r, bytes32 vs) = _signVoucher(key, id, voucherAmount);
        c = PaymentChannels.Claim({
            channelId: id, voucherAmount: voucherAmount, amount: amount, receiptsRoot: RECEIPTS_ROOT, r: r, vs: vs
        });
    }

    function _batch(PaymentChannels.Claim memory c) internal pure returns (PaymentChannels.Claim[] memory b) {
        b = new PaymentChannels.Claim[](1);
        b[0] = c;
    }

    function _batch(PaymentChannels.Claim memory c0, PaymentChannels.Claim memory c1)
        internal
        pure
        returns (PaymentChannels.Claim[] memory b)
    {
        b = new PaymentChannels.Claim[](2);
        b[0] = c0;
        b[1] = c1;
    }

    /// @dev Claims `amount` on `id` as the provider with a voucher of the
    /// same amount.
    function _claimAsProvider(bytes32 id, uint256 amount) internal {
        PaymentChannels.Claim[] memory b = _batch(_claim(id, amount, amount));
        vm.prank(provider);
        channels.claimMany(b);
    }

    // ---------------------------------------------------------------- permit

    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    /// @dev An EIP-2612 permit for TestUSD letting PaymentChannels spend
    /// `value` of `owner`'s tokens, signed with `key`.
    function _signPermit(uint256 key, address owner, uint256 value, uint256 deadline)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        bytes32 structHash =
            keccak256(abi.encode(PERMIT_TYPEHASH, owner, address(channels), value, tusd.nonces(owner), deadline));
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", tusd.DOMAIN_SEPARATOR(), structHash));
        return vm.sign(key, digest);
    }

    // ------------------------------------------------------------ withdrawal

    function _requestWithdrawal(bytes32 id) internal {
        vm.prank(payer);
        channels.requestWithdrawal(id);
    }

    function _withdraw(bytes32 id) internal {
        _requestWithdrawal(id);
        vm.warp(block.timestamp + WITHDRAWAL_DELAY);
        vm.prank(payer);
        channels.finalizeWithdrawal(id);
    }

    // ----------------------------------------------------------------- views

    function _claimed(bytes32 id) internal view returns (uint256) {
        return channels.getChannel(id).claimed;
    }

    function _deposit(bytes32 id) internal view returns (uint256) {
        return channels.getChannel(id).deposit;
    }
}
