// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title PaymentChannels
/// @notice Unidirectional payment channels from a payer (an agent's funding
/// wallet) to a compute provider, in native ETH or any ERC-20.
///
/// A channel names a `signer`, the agent's hot key, which signs cumulative
/// EIP-712 vouchers `Voucher(bytes32 channelId,uint256 cumulativeAmount)`.
/// The provider claims, many channels per transaction, any cumulative amount
/// up to the latest voucher and the deposit; every claim carries the Merkle
/// root of the job receipts it settles. The payer can take back what was not
/// claimed after a withdrawal delay fixed at deployment, which is the
/// provider's window to claim.
///
/// Invariant, per asset: balance held = Σ deposits − Σ claimed − Σ refunded.
contract PaymentChannels is EIP712, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice The asset address that stands for native ETH.
    address public constant NATIVE = address(0);

    bytes32 public constant VOUCHER_TYPEHASH = keccak256("Voucher(bytes32 channelId,uint256 cumulativeAmount)");

    /// @notice Receipts are signed by the provider off chain under this
    /// contract's domain; their struct hashes are the leaves of the Merkle
    /// root carried by each claim.
    bytes32 public constant RECEIPT_TYPEHASH = keccak256(
        "Receipt(bytes32 channelId,bytes32 jobId,uint256 cost,uint256 cumulativeCharged,uint64 inputTokens,uint64 outputTokens,bytes32 resultHash)"
    );

    /// @notice Seconds between a withdrawal request and its finalization.
    uint64 public immutable withdrawalDelay;

    /// @dev Storage is packed so that a claim touches four slots: signer and
    /// withdrawal state, provider, asset, and deposit with claimed.
    struct Channel {
        address signer; //          slot 0
        uint64 withdrawableAt; //   slot 0: 0 = no withdrawal requested
        bool closed; //             slot 0: finalized, nothing left
        address provider; //        slot 1
        address asset; //           slot 2
        address payer; //           slot 3
        uint128 deposit; //         slot 4
        uint128 claimed; //         slot 4
    }

    /// @notice One channel's claim inside `claimMany`. The signature is the
    /// channel signer's over Voucher(channelId, voucherAmount), in the
    /// EIP-2098 compact form (r, yParityAndS).
    struct Claim {
        bytes32 channelId;
        uint256 voucherAmount;
        uint256 amount; // new cumulative total claimed
        bytes32 receiptsRoot;
        bytes32 r;
        bytes32 vs;
    }

    mapping(bytes32 => Channel) private _channels;

    event ChannelOpened(
        bytes32 indexed channelId,
        address indexed payer,
        address indexed provider,
        address signer,
        address asset,
        uint256 deposit
    );
    event ChannelToppedUp(bytes32 indexed channelId, uint256 amount, uint256 deposit);
    event Claimed(
        bytes32 indexed channelId,
        address indexed provider,
        uint256 amount,
        uint256 totalClaimed,
        uint256 voucherAmount,
        bytes32 receiptsRoot
    );
    event WithdrawalRequested(bytes32 indexed channelId, uint64 withdrawableAt);
    event Withdrawn(bytes32 indexed channelId, address indexed payer, uint256 refund);

    error ZeroAddress();
    error ZeroAmount();
    error AmountTooLarge();
    error ChannelExists(bytes32 channelId);
    error UnknownChannel(bytes32 channelId);
    error NotPayer(bytes32 channelId);
    error NotProvider(bytes32 channelId);
    error ChannelClosed(bytes32 channelId);
    error WithdrawalPending(bytes32 channelId);
    error WithdrawalNotRequested(bytes32 channelId);
    error WithdrawalTooEarly(bytes32 channelId, uint64 withdrawableAt);
    error WrongValue();
    error InvalidSignature(bytes32 channelId);
    error ClaimAboveVoucher(bytes32 channelId, uint256 amount, uint256 voucherAmount);
    error ClaimAboveDeposit(bytes32 channelId, uint256 amount, uint256 deposit);
    error ClaimNotIncreasing(bytes32 channelId, uint256 amount, uint256 claimed);
    error EmptyBatch();
    error TransferFailed();

    constructor(uint64 withdrawalDelay_) EIP712("paynode", "1") {
        withdrawalDelay = withdrawalDelay_;
    }

    // ---------------------------------------------------------------- open

    /// @notice The id a channel gets; `salt` lets a payer open many channels
    /// to the same provider and makes a retried open fail instead of paying
    /// twice.
    function channelId(address payer, address provider, address signer, address asset, bytes32 salt)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(payer, provider, signer, asset, salt));
    }

    /// @notice Opens a channel funded with `amount` of `asset` (NATIVE for
    /// ETH, when msg.value must equal amount).
    function open(address provider, address signer, address asset, uint256 amount, bytes32 salt)
        external
        payable
        nonReentrant
        returns (bytes32 id)
    {
        id = _create(provider, signer, asset, salt);
        uint256 received = _pull(asset, amount);
        _credit(id, received);
        emit ChannelOpened(id, msg.sender, provider, signer, asset, received);
    }

    /// @notice Opens an ERC-20 channel with an EIP-2612 permit instead of a
    /// prior approve. A permit already used (for example by a front-runner)
    /// is tolerated when the allowance is there.
    function openWithPermit(
        address provider,
        address signer,
        address token,
        uint256 amount,
        bytes32 salt,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (bytes32 id) {
        if (token == NATIVE) revert ZeroAddress();
        try IERC20Permit(token).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        id = _create(provider, signer, token, salt);
        uint256 received = _pull(token, amount);
        _credit(id, received);
        emit ChannelOpened(id, msg.sender, provider, signer, token, received);
    }

    /// @notice Adds to a channel's deposit. Anyone may top up; the refund
    /// still goes to the payer.
    function topUp(bytes32 id, uint256 amount) external payable nonReentrant {
        Channel storage c = _channels[id];
        if (c.provider == address(0)) revert UnknownChannel(id);
        if (c.closed) revert ChannelClosed(id);
        if (c.withdrawableAt != 0) revert WithdrawalPending(id);
        uint256 received = _pull(c.asset, amount);
        _credit(id, received);
        emit ChannelToppedUp(id, received, c.deposit);
    }

    // --------------------------------------------------------------- claim

    /// @notice Claims many channels of one provider in one transaction. Each
    /// claim raises the channel's claimed total to `amount`, which may not
    /// exceed the signed voucher nor the deposit. Payouts are summed per
    /// asset and sent once per asset. The batch is atomic.
    function claimMany(Claim[] calldata claims) external nonReentrant {
        uint256 n = claims.length;
        if (n == 0) revert EmptyBatch();
        // Payout per distinct asset; batches rarely mix more than a few.
        address[] memory assets = new address[](n);
        uint256[] memory sums = new uint256[](n);
        uint256 distinct;
        for (uint256 i; i < n; ++i) {
            Claim calldata cl = claims[i];
            Channel storage c = _channels[cl.channelId];
            if (c.provider != msg.sender) {
                if (c.provider == address(0)) revert UnknownChannel(cl.channelId);
                revert NotProvider(cl.channelId);
            }
            if (c.closed) revert ChannelClosed(cl.channelId);
            uint256 claimed = c.claimed;
            uint256 deposit = c.deposit;
            if (cl.amount <= claimed) revert ClaimNotIncreasing(cl.channelId, cl.amount, claimed);
            if (cl.amount > cl.voucherAmount) revert ClaimAboveVoucher(cl.channelId, cl.amount, cl.voucherAmount);
            if (cl.amount > deposit) revert ClaimAboveDeposit(cl.channelId, cl.amount, deposit);
            bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(VOUCHER_TYPEHASH, cl.channelId, cl.voucherAmount)));
            (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, cl.r, cl.vs);
            if (err != ECDSA.RecoverError.NoError || recovered != c.signer) revert InvalidSignature(cl.channelId);

            uint256 delta = cl.amount - claimed;
            // forge-lint: disable-next-line(unsafe-typecast)
            c.claimed = uint128(cl.amount); // safe: amount ≤ deposit, a uint128
            emit Claimed(cl.channelId, msg.sender, delta, cl.amount, cl.voucherAmount, cl.receiptsRoot);

            address asset = c.asset;
            uint256 j;
            while (j < distinct && assets[j] != asset) ++j;
            if (j == distinct) {
                assets[j] = asset;
                ++distinct;
            }
            sums[j] += delta;
        }
        for (uint256 j; j < distinct; ++j) {
            _push(assets[j], msg.sender, sums[j]);
        }
    }

    // ------------------------------------------------------------ withdraw

    /// @notice Starts the withdrawal delay. From now on the provider should
    /// stop taking jobs on the channel and claim what it is owed.
    function requestWithdrawal(bytes32 id) external {
        Channel storage c = _channels[id];
        if (c.provider == address(0)) revert UnknownChannel(id);
        if (c.payer != msg.sender) revert NotPayer(id);
        if (c.closed) revert ChannelClosed(id);
        if (c.withdrawableAt != 0) revert WithdrawalPending(id);
        uint64 at = uint64(block.timestamp) + withdrawalDelay;
        c.withdrawableAt = at;
        emit WithdrawalRequested(id, at);
    }

    /// @notice After the delay, refunds deposit − claimed to the payer and
    /// closes the channel for good.
    function finalizeWithdrawal(bytes32 id) external nonReentrant {
        Channel storage c = _channels[id];
        if (c.provider == address(0)) revert UnknownChannel(id);
        if (c.payer != msg.sender) revert NotPayer(id);
        if (c.closed) revert ChannelClosed(id);
        uint64 at = c.withdrawableAt;
        if (at == 0) revert WithdrawalNotRequested(id);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < at) revert WithdrawalTooEarly(id, at); // the delay is hours, not seconds
        uint256 refund = uint256(c.deposit) - c.claimed;
        c.closed = true;
        emit Withdrawn(id, msg.sender, refund);
        if (refund > 0) _push(c.asset, msg.sender, refund);
    }

    // --------------------------------------------------------------- views

    /// @notice The state of a channel; provider == address(0) means unknown.
    function getChannel(bytes32 id) external view returns (Channel memory) {
        return _channels[id];
    }

    /// @notice The EIP-712 digest the channel signer signs for a voucher.
    function hashVoucher(bytes32 id, uint256 cumulativeAmount) external view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(VOUCHER_TYPEHASH, id, cumulativeAmount)));
    }

    /// @notice The EIP-712 struct hash of a receipt: the Merkle leaf.
    function hashReceiptStruct(
        bytes32 id,
        bytes32 jobId,
        uint256 cost,
        uint256 cumulativeCharged,
        uint64 inputTokens,
        uint64 outputTokens,
        bytes32 resultHash
    ) public pure returns (bytes32) {
        return keccak256(
            abi.encode(RECEIPT_TYPEHASH, id, jobId, cost, cumulativeCharged, inputTokens, outputTokens, resultHash)
        );
    }

    /// @notice The EIP-712 digest the provider signs for a receipt.
    function hashReceipt(
        bytes32 id,
        bytes32 jobId,
        uint256 cost,
        uint256 cumulativeCharged,
        uint64 inputTokens,
        uint64 outputTokens,
        bytes32 resultHash
    ) external view returns (bytes32) {
        return _hashTypedDataV4(hashReceiptStruct(id, jobId, cost, cumulativeCharged, inputTokens, outputTokens, resultHash));
    }

    /// @notice The EIP-712 domain separator, for off-chain signers.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ------------------------------------------------------------ internal

    function _create(address provider, address signer, address asset, bytes32 salt) private returns (bytes32 id) {
        if (provider == address(0) || signer == address(0)) revert ZeroAddress();
        id = channelId(msg.sender, provider, signer, asset, salt);
        Channel storage c = _channels[id];
        if (c.provider != address(0)) revert ChannelExists(id);
        c.signer = signer;
        c.provider = provider;
        c.asset = asset;
        c.payer = msg.sender;
    }

    /// @dev Takes `amount` from msg.sender and returns what arrived, so a
    /// token that charges a fee on transfer is credited only what it paid.
    function _pull(address asset, uint256 amount) private returns (uint256) {
        if (amount == 0) revert ZeroAmount();
        if (asset == NATIVE) {
            if (msg.value != amount) revert WrongValue();
            return amount;
        }
        if (msg.value != 0) revert WrongValue();
        IERC20 token = IERC20(asset);
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received == 0) revert ZeroAmount();
        return received;
    }

    function _credit(bytes32 id, uint256 amount) private {
        Channel storage c = _channels[id];
        uint256 deposit = uint256(c.deposit) + amount;
        if (deposit > type(uint128).max) revert AmountTooLarge();
        // forge-lint: disable-next-line(unsafe-typecast)
        c.deposit = uint128(deposit); // safe: checked just above
    }

    function _push(address asset, address to, uint256 amount) private {
        if (asset == NATIVE) {
            (bool ok,) = to.call{value: amount}("");
            if (!ok) revert TransferFailed();
        } else {
            IERC20(asset).safeTransfer(to, amount);
        }
    }
}
