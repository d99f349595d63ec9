// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title TestUSD
/// @notice A 6-decimal test dollar with EIP-2612 permit, for dev chains
/// only: its owner mints at will, so it is worth nothing.
contract TestUSD is ERC20, ERC20Permit, Ownable {
    constructor(address owner_) ERC20("Test USD", "TUSD") ERC20Permit("Test USD") Ownable(owner_) {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
