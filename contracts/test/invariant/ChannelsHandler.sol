// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CommonBase} from "../utils/Test.sol";
import {PaymentChannels} from "../../src/PaymentChannels.sol";
import {TestUSD} from "../../src/TestUSD.sol";

/// @notice Drives PaymentChannels with bounded random actions over ETH and
/// TestUSD: open, top up, sign vouchers, claim in batches, request and
/// finalize withdrawals, and let time pass. Every action is valid by
/// construction (it skips what the contract would refuse), so the invariant
/// run can fail on any revert. Ghost variables record every unit that moved.
contract ChannelsHandler is CommonBase {
    uint256 public constant ACTORS = 3;
    uint256 public constant MAX_BATCH = 4;
    uint256 public constant MAX_DEPOSIT_ETH = 100 ether;
    uint256 public constant MAX_DEPOSIT_TUSD = 1_000_000e6;
    uint256 public constant MAX_WARP = 2 hours;
    uint256 public constant MAX_OVERCLAIM = 1 ether;

    address internal constant NATIVE = address(0);

    PaymentChannels public immutable channels;
    TestUSD public immutable tusd;

    address[ACTORS] internal payers;
    address[ACTORS] internal providers;
    uint256[ACTORS] internal signerKeys;

    bytes32[] public ids;
    uint256 private _salt;

    /// @dev The highest cumulative amount the channel's signer has signed.
    mapping(bytes32 => uint256) public highestVoucher;
    mapping(bytes32 => bytes32) private _voucherR;
    mapping(bytes32 => bytes32) private _voucherVs;

    // Ghosts, per asset.
    mapping(address => uint256) public ghostDeposited;
    mapping(address => uint256) public ghostClaimed;
    mapping(address => uint256) public ghostRefunded;

    // Ghosts, per channel.
    mapping(bytes32 => uint256) public ghostChannelDeposit;
    mapping(bytes32 => uint256) public ghostChannelClaimed;

    // What the run did, for the summary.
    mapping(string => uint256) public calls;

    constructor(PaymentChannels channels_, TestUSD tusd_) {
        channels = channels_;
        tusd = tusd_;
        for (uint256 i; i < ACTORS; ++i) {
            payers[i] = makeAddr(string.concat("payer", vm.toString(i)));
            providers[i] = makeAddr(string.concat("provider", vm.toString(i)));
            (signerKeys[i],) = makeKey(string.concat("signer", vm.toString(i)));
        }
    }

    function channelCount() external view returns (uint256) {
        return ids.length;
    }

    function provider(uint256 i) external view returns (address) {
        return providers[i];
    }

    // ---------------------------------------------------------------- actions

    function open(uint256 actorSeed, uint256 providerSeed, uint256 signerSeed, bool eth, uint256 amount) external {
        address payer = payers[actorSeed % ACTORS];
        address asset = eth ? NATIVE : address(tusd);
        amount = bound(amount, 1, eth ? MAX_DEPOSIT_ETH : MAX_DEPOSIT_TUSD);
        _fund(payer, asset, amount);
        address signer = vm.addr(signerKeys[signerSeed % ACTORS]);

        vm.prank(payer);
        bytes32 id = channels.open{value: eth ? amount : 0}(
            providers[providerSeed % ACTORS], signer, asset, amount, bytes32(++_salt)
        );
        ids.push(id);
        ghostDeposited[asset] += amount;
        ghostChannelDeposit[id] = amount;
        ++calls["open"];
    }

    function topUp(uint256 idSeed, uint256 funderSeed, uint256 amount) external {
        (bool ok, bytes32 id, PaymentChannels.Channel memory c) = _pick(idSeed);
        if (!ok || c.closed || c.withdrawableAt != 0) return;
        bool eth = c.asset == NATIVE;
        uint256 room = type(uint128).max - uint256(c.deposit);
        uint256 most = eth ? MAX_DEPOSIT_ETH : MAX_DEPOSIT_TUSD;
        if (room == 0) return;
        amount = bound(amount, 1, room < most ? room : most);
        // Anyone may top up; the refund still goes to the payer.
        address funder = payers[funderSeed % ACTORS];
        _fund(funder, c.asset, amount);

        vm.prank(funder);
        channels.topUp{value: eth ? amount : 0}(id, amount);
        ghostDeposited[c.asset] += amount;
        ghostChannelDeposit[id] += amount;
        ++calls["topUp"];
    }

    /// @dev The agent signs a new, higher voucher (it may exceed the deposit:
    /// the contract caps claims at the deposit anyway).
    function signVoucher(uint256 idSeed, uint256 increase) external {
        (bool ok, bytes32 id, PaymentChannels.Channel memory c) = _pick(idSeed);
        if (!ok || c.closed) return;
        uint256 amount = highestVoucher[id] + bound(increase, 1, uint256(c.deposit));
        highestVoucher[id] = amount;
        (_voucherR[id], _voucherVs[id]) = _sign(c.signer, id, amount);
        ++calls["signVoucher"];
    }

    /// @dev The provider of the first picked channel claims up to MAX_BATCH
    /// of its channels at once, each with the latest voucher and an amount
    /// between what it claimed and min(voucher, deposit).
    function claimMany(uint256[MAX_BATCH] calldata idSeeds, uint256[MAX_BATCH] calldata amountSeeds) external {
        (bool ok,, PaymentChannels.Channel memory first) = _pick(idSeeds[0]);
        if (!ok) return;
        address who = first.provider;

        PaymentChannels.Claim[] memory batch = new PaymentChannels.Claim[](MAX_BATCH);
        uint256 n;
        for (uint256 i; i < MAX_BATCH; ++i) {
            (, bytes32 id, PaymentChannels.Channel memory c) = _pick(idSeeds[i]);
            if (c.provider != who || c.closed || _inBatch(batch, n, id)) continue;
            uint256 ceiling = highestVoucher[id] < c.deposit ? highestVoucher[id] : c.deposit;
            if (ceiling <= c.claimed) continue;
            uint256 amount = bound(amountSeeds[i], uint256(c.claimed) + 1, ceiling);
            batch[n++] = PaymentChannels.Claim({
                channelId: id,
                voucherAmount: highestVoucher[id],
                amount: amount,
                receiptsRoot: keccak256(abi.encode(id, amount)),
                r: _voucherR[id],
                vs: _voucherVs[id]
            });
        }
        if (n == 0) return;
        assembly ("memory-safe") {
            mstore(batch, n) // trim to the claims actually built
        }

        vm.prank(who);
        channels.claimMany(batch);
        for (uint256 i; i < n; ++i) {
            bytes32 id = batch[i].channelId;
            _book(id, channels.getChannel(id).asset, batch[i].amount);
        }
        ++calls["claimMany"];
        calls["claimed channels"] += n;
    }

    /// @dev The provider tries to take more than it may: above the deposit
    /// (with a voucher the signer really signed for that much), above the
    /// latest voucher, or anything once the channel is closed and refunded.
    /// The contract must refuse; if it ever does not, the claim is booked
    /// like any other so the invariants see it.
    function overclaim(uint256 idSeed, uint256 extra, bool aboveVoucher) external {
        (bool ok, bytes32 id, PaymentChannels.Channel memory c) = _pick(idSeed);
        if (!ok) return;
        extra = bound(extra, 1, MAX_OVERCLAIM);
        uint256 voucher;
        uint256 amount;
        bytes32 r;
        bytes32 vs;
        if (c.closed) {
            if (c.deposit == c.claimed) return;
            amount = uint256(c.claimed) + bound(extra, 1, uint256(c.deposit) - c.claimed);
            voucher = amount;
            (r, vs) = _sign(c.signer, id, voucher);
            if (voucher > highestVoucher[id]) (highestVoucher[id], _voucherR[id], _voucherVs[id]) = (voucher, r, vs);
        } else if (aboveVoucher) {
            voucher = highestVoucher[id];
            if (voucher == 0) return;
            amount = voucher + extra;
            (r, vs) = (_voucherR[id], _voucherVs[id]);
        } else {
            amount = uint256(c.deposit) + extra;
            voucher = amount;
            (r, vs) = _sign(c.signer, id, voucher);
            if (voucher > highestVoucher[id]) (highestVoucher[id], _voucherR[id], _voucherVs[id]) = (voucher, r, vs);
        }
        PaymentChannels.Claim[] memory batch = new PaymentChannels.Claim[](1);
        batch[0] = PaymentChannels.Claim(id, voucher, amount, bytes32(0), r, vs);

        vm.prank(c.provider);
        try channels.claimMany(batch) {
            _book(id, c.asset, amount);
            ++calls["overclaim accepted"];
        } catch {
            ++calls["overclaim refused"];
        }
    }

    function requestWithdrawal(uint256 idSeed) external {
        (bool ok, bytes32 id, PaymentChannels.Channel memory c) = _pick(idSeed);
        if (!ok || c.closed || c.withdrawableAt != 0) return;
        vm.prank(c.payer);
        channels.requestWithdrawal(id);
        ++calls["requestWithdrawal"];
    }

    function finalizeWithdrawal(uint256 idSeed) external {
        (bool ok, bytes32 id, PaymentChannels.Channel memory c) = _pick(idSeed);
        if (!ok || c.closed || c.withdrawableAt == 0) return;
        if (block.timestamp < c.withdrawableAt) vm.warp(c.withdrawableAt);
        uint256 before = _balance(c.asset, c.payer);

        vm.prank(c.payer);
        channels.finalizeWithdrawal(id);
        uint256 refund = _balance(c.asset, c.payer) - before;
        ghostRefunded[c.asset] += refund;
        ++calls["finalizeWithdrawal"];
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 0, MAX_WARP));
        ++calls["warp"];
    }

    // --------------------------------------------------------------- helpers

    function _pick(uint256 seed) private view returns (bool ok, bytes32 id, PaymentChannels.Channel memory c) {
        if (ids.length == 0) return (false, bytes32(0), c);
        id = ids[seed % ids.length];
        c = channels.getChannel(id);
        ok = true;
    }

    /// @dev Signs Voucher(id, amount) with the channel signer's key, compact.
    function _sign(address signer, bytes32 id, uint256 amount) private view returns (bytes32 r, bytes32 vs) {
        (uint8 v, bytes32 r_, bytes32 s) = vm.sign(_keyOf(signer), channels.hashVoucher(id, amount));
        (r, vs) = (r_, bytes32(uint256(s) | (uint256(v - 27) << 255)));
    }

    /// @dev Records a successful claim raising `id`'s total to `amount`.
    function _book(bytes32 id, address asset, uint256 amount) private {
        ghostClaimed[asset] += amount - ghostChannelClaimed[id];
        ghostChannelClaimed[id] = amount;
    }

    function _inBatch(PaymentChannels.Claim[] memory batch, uint256 n, bytes32 id) private pure returns (bool) {
        for (uint256 i; i < n; ++i) {
            if (batch[i].channelId == id) return true;
        }
        return false;
    }

    function _keyOf(address signer) private view returns (uint256) {
        for (uint256 i; i < ACTORS; ++i) {
            if (vm.addr(signerKeys[i]) == signer) return signerKeys[i];
        }
        revert("unknown signer");
    }

    function _fund(address who, address asset, uint256 amount) private {
        if (asset == NATIVE) {
            vm.deal(who, who.balance + amount);
        } else {
            tusd.mint(who, amount);
            vm.prank(who);
            tusd.approve(address(channels), amount);
        }
    }

    function _balance(address asset, address who) private view returns (uint256) {
        return asset == NATIVE ? who.balance : tusd.balanceOf(who);
    }
}
