// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {TestUSD} from "../src/TestUSD.sol";
import {Test} from "./utils/Test.sol";

contract TestUSDTest is Test {
    bytes32 private constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");
    uint256 private constant ONE_TUSD = 1e6;
    uint256 private constant AMOUNT = 250 * ONE_TUSD;
    uint256 private constant PERMIT_LIFETIME = 1 hours;

    TestUSD private tusd;
    address private owner;
    uint256 private holderKey;
    address private holder;
    address private spender;

    function setUp() public {
        owner = makeAddr("owner");
        (holderKey, holder) = makeKey("holder");
        spender = makeAddr("spender");
        tusd = new TestUSD(owner);
    }

    function _signPermit(uint256 key, address owner_, uint256 value, uint256 nonce, uint256 deadline)
        private
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        bytes32 structHash = keccak256(abi.encode(PERMIT_TYPEHASH, owner_, spender, value, nonce, deadline));
        return vm.sign(key, keccak256(abi.encodePacked("\x19\x01", tusd.DOMAIN_SEPARATOR(), structHash)));
    }

    function test_Metadata() public view {
        vm.assertEq(tusd.name(), "Test USD", "name");
        vm.assertEq(tusd.symbol(), "TUSD", "symbol");
        vm.assertEq(uint256(tusd.decimals()), 6, "decimals");
        vm.assertEq(tusd.owner(), owner, "owner");
        vm.assertEq(tusd.totalSupply(), 0, "no supply at start");
    }

    function test_Mint_ByOwner() public {
        vm.prank(owner);
        tusd.mint(holder, AMOUNT);
        vm.assertEq(tusd.balanceOf(holder), AMOUNT, "balance");
        vm.assertEq(tusd.totalSupply(), AMOUNT, "supply");
    }

    function test_Mint_RevertsForNonOwner() public {
        vm.prank(holder);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, holder));
        tusd.mint(holder, AMOUNT);
    }

    function test_Transfer_RevertsAboveBalance() public {
        vm.prank(holder);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, holder, 0, AMOUNT));
        tusd.transfer(spender, AMOUNT);
    }

    function test_Permit_SetsAllowanceAndBumpsNonce() public {
        uint256 deadline = block.timestamp + PERMIT_LIFETIME;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(holderKey, holder, AMOUNT, 0, deadline);
        tusd.permit(holder, spender, AMOUNT, deadline, v, r, s);
        vm.assertEq(tusd.allowance(holder, spender), AMOUNT, "allowance");
        vm.assertEq(tusd.nonces(holder), 1, "nonce");
    }

    function test_Permit_RevertsOnReplay() public {
        uint256 deadline = block.timestamp + PERMIT_LIFETIME;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(holderKey, holder, AMOUNT, 0, deadline);
        tusd.permit(holder, spender, AMOUNT, deadline, v, r, s);
        // The nonce moved on, so the same signature recovers someone else.
        vm.expectRevert();
        tusd.permit(holder, spender, AMOUNT, deadline, v, r, s);
    }

    function test_Permit_RevertsWhenExpired() public {
        uint256 deadline = block.timestamp + PERMIT_LIFETIME;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(holderKey, holder, AMOUNT, 0, deadline);
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612ExpiredSignature.selector, deadline));
        tusd.permit(holder, spender, AMOUNT, deadline, v, r, s);
    }

    function test_Permit_RevertsOnWrongSigner() public {
        (uint256 otherKey, address other) = makeKey("other");
        uint256 deadline = block.timestamp + PERMIT_LIFETIME;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(otherKey, holder, AMOUNT, 0, deadline);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612InvalidSigner.selector, other, holder));
        tusd.permit(holder, spender, AMOUNT, deadline, v, r, s);
    }
}
