// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {PaymentChannels} from "../../src/PaymentChannels.sol";

/// @notice An address that refuses ETH: a provider or payer whose payout
/// must fail with TransferFailed.
contract RejectingReceiver {
    error NoEther();

    receive() external payable {
        revert NoEther();
    }
}

/// @notice A plain ERC-20 anyone can mint, for tests that need a second
/// token that is not TestUSD.
contract MintableToken is ERC20 {
    constructor(string memory name_) ERC20(name_, name_) {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}

/// @notice An ERC-20 that keeps `feeBps` of every transfer (burns it), so the
/// receiver gets less than the amount asked for.
contract FeeOnTransferToken is ERC20 {
    uint256 public constant BPS = 10_000;
    uint256 public immutable feeBps;

    constructor(uint256 feeBps_) ERC20("Fee Token", "FEE") {
        feeBps = feeBps_;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function feeOn(uint256 amount) public view returns (uint256) {
        return amount * feeBps / BPS;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) return super._update(from, to, value);
        uint256 fee = feeOn(value);
        super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}

/// @notice An ERC-20 that, once armed, calls back into a target during its
/// next transfer or transferFrom and bubbles up whatever the callback reverts
/// with, so a reentrancy guard's error surfaces as the outer call's error.
contract ReentrantToken is ERC20 {
    address public target;
    bytes public callback;
    bool public armed;

    constructor() ERC20("Reentrant", "REE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function arm(address target_, bytes calldata callback_) external {
        target = target_;
        callback = callback_;
        armed = true;
    }

    function transfer(address to, uint256 value) public override returns (bool) {
        _reenter();
        return super.transfer(to, value);
    }

    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        _reenter();
        return super.transferFrom(from, to, value);
    }

    function _reenter() private {
        if (!armed) return;
        armed = false;
        (bool ok, bytes memory ret) = target.call(callback);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
    }
}

/// @notice A payer (or provider) contract whose receive() tries to re-enter
/// PaymentChannels once, catching and recording the outcome so the outer
/// call can finish and the test can inspect what the reentry got.
contract ReentrantReceiver {
    PaymentChannels public immutable channels;
    bytes public callback;
    bool public armed;
    bool public reentrySucceeded;
    bytes public reentryError;
    uint256 public received;

    constructor(PaymentChannels channels_) {
        channels = channels_;
    }

    function arm(bytes calldata callback_) external {
        callback = callback_;
        armed = true;
    }

    function open(address provider, address signer, uint256 amount, bytes32 salt) external payable returns (bytes32) {
        return channels.open{value: amount}(provider, signer, address(0), amount, salt);
    }

    function requestWithdrawal(bytes32 id) external {
        channels.requestWithdrawal(id);
    }

    function finalizeWithdrawal(bytes32 id) external {
        channels.finalizeWithdrawal(id);
    }

    function claimMany(PaymentChannels.Claim[] calldata claims) external {
        channels.claimMany(claims);
    }

    receive() external payable {
        received += msg.value;
        if (!armed) return;
        armed = false;
        (bool ok, bytes memory ret) = address(channels).call(callback);
        reentrySucceeded = ok;
        reentryError = ret;
    }
}
