// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Vm} from "./Vm.sol";

/// @notice The cheatcode handle and bounded inputs, for tests and for the
/// handlers that invariant tests drive.
abstract contract CommonBase {
    /// @dev Forge's cheatcode address, keccak256("hevm cheat code")[12:].
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 internal constant SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    /// @dev Maps any x into [min, max], keeping x itself when it is already
    /// inside, so the fuzzer's edge values (0, 1, max) stay reachable.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: min > max");
        if (x >= min && x <= max) return x;
        uint256 size = max - min;
        if (size == type(uint256).max) return x;
        return min + (x % (size + 1));
    }

    /// @dev A deterministic private key and its address, labelled in traces.
    function makeKey(string memory name) internal returns (uint256 key, address account) {
        key = uint256(keccak256(abi.encodePacked(name))) % SECP256K1_ORDER;
        if (key == 0) key = 1;
        account = vm.addr(key);
        vm.label(account, name);
    }

    function makeAddr(string memory name) internal returns (address account) {
        (, account) = makeKey(name);
    }
}

/// @notice A small test base: CommonBase plus logging, deployment at a fixed
/// address, and the hooks forge reads to pick invariant targets. Assertions
/// are forge's own assert cheatcodes (vm.assertEq and friends), which revert
/// with a readable message on failure.
abstract contract Test is CommonBase {
    /// @dev Forge's console address, "console.log" as bytes.
    address private constant CONSOLE = 0x000000000000000000636F6e736F6c652e6c6f67;

    /// @dev Forge treats a contract that exposes IS_TEST as a test contract.
    bool public IS_TEST = true;

    /// @dev The shape forge expects from targetSelectors().
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetContracts;
    FuzzSelector[] private _targetSelectors;

    // ------------------------------------------------------------- invariants

    function targetContracts() public view returns (address[] memory) {
        return _targetContracts;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetSelectors;
    }

    function targetContract(address target) internal {
        _targetContracts.push(target);
    }

    function targetSelector(address target, bytes4[] memory selectors) internal {
        _targetSelectors.push(FuzzSelector({addr: target, selectors: selectors}));
    }

    // ------------------------------------------------------------ deployment

    /// @dev Runs an artifact's constructor at a chosen address: the creation
    /// code is etched there and called, so `address(this)` inside the
    /// constructor (and every immutable derived from it) is `where`.
    function deployCodeTo(string memory artifact, bytes memory args, address where) internal {
        vm.etch(where, abi.encodePacked(vm.getCode(artifact), args));
        (bool ok, bytes memory runtime) = where.call("");
        require(ok, "deployCodeTo: constructor reverted");
        vm.etch(where, runtime);
    }

    // --------------------------------------------------------------- logging

    function log(string memory message) internal view {
        _sendLog(abi.encodeWithSignature("log(string)", message));
    }

    function log(string memory label_, uint256 value) internal view {
        _sendLog(abi.encodeWithSignature("log(string,uint256)", label_, value));
    }

    function log(string memory label_, string memory value) internal view {
        _sendLog(abi.encodeWithSignature("log(string,string)", label_, value));
    }

    function _sendLog(bytes memory payload) private view {
        address console = CONSOLE;
        assembly ("memory-safe") {
            pop(staticcall(gas(), console, add(payload, 32), mload(payload), 0, 0))
        }
    }
}
