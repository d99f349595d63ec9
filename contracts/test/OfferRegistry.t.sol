// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {OfferRegistry} from "../src/OfferRegistry.sol";
import {Test} from "./utils/Test.sol";

contract OfferRegistryTest is Test {
    uint256 private constant BASE = 1000;
    uint256 private constant IN_PER_M = 2_000_000;
    uint256 private constant OUT_PER_M = 8_000_000;
    uint64 private constant MAX_TOKENS = 1024;
    uint256 private constant START_TIME = 1_700_000_000;
    uint256 private constant LATER = 1 days;

    OfferRegistry private registry;
    address private alice;
    address private bob;
    address private tusd;

    function setUp() public {
        registry = new OfferRegistry();
        alice = makeAddr("alice");
        bob = makeAddr("bob");
        tusd = makeAddr("tusd");
        vm.warp(START_TIME);
    }

    function _input(string memory model) private view returns (OfferRegistry.OfferInput memory) {
        return OfferRegistry.OfferInput({
            model: model,
            endpoint: "ws://127.0.0.1:7070/v1/agent",
            asset: tusd,
            base: BASE,
            inPerM: IN_PER_M,
            outPerM: OUT_PER_M,
            maxTokens: MAX_TOKENS,
            metadataURI: "ipfs://meta"
        });
    }

    function _register(address who, string memory model) private returns (uint256 id) {
        vm.prank(who);
        id = registry.register(_input(model));
    }

    function _registerMany(address who, uint256 n) private {
        for (uint256 i; i < n; ++i) {
            _register(who, vm.toString(i));
        }
    }

    // --------------------------------------------------------------- register

    function test_Register_StoresEveryField() public {
        uint256 id = _register(alice, "paynode-test-1");
        vm.assertEq(id, 1, "first id is 1");

        OfferRegistry.Offer memory o = registry.getOffer(id);
        vm.assertEq(o.id, id, "id");
        vm.assertEq(o.provider, alice, "provider");
        vm.assertTrue(o.active, "active");
        vm.assertEq(uint256(o.updatedAt), START_TIME, "updatedAt");
        vm.assertEq(o.model, "paynode-test-1", "model");
        vm.assertEq(o.endpoint, "ws://127.0.0.1:7070/v1/agent", "endpoint");
        vm.assertEq(o.asset, tusd, "asset");
        vm.assertEq(o.base, BASE, "base");
        vm.assertEq(o.inPerM, IN_PER_M, "inPerM");
        vm.assertEq(o.outPerM, OUT_PER_M, "outPerM");
        vm.assertEq(uint256(o.maxTokens), MAX_TOKENS, "maxTokens");
        vm.assertEq(o.metadataURI, "ipfs://meta", "metadataURI");
        vm.assertEq(registry.offerCount(), 1, "offerCount");
        vm.assertEq(registry.providerOfferCount(alice), 1, "providerOfferCount");
    }

    function test_Register_Emits() public {
        vm.expectEmit(address(registry));
        emit OfferRegistry.OfferRegistered(1, alice, "m", tusd, BASE, IN_PER_M, OUT_PER_M);
        _register(alice, "m");
    }

    function test_Register_IdsIncrease() public {
        vm.assertEq(_register(alice, "a"), 1, "1");
        vm.assertEq(_register(bob, "b"), 2, "2");
        vm.assertEq(_register(alice, "c"), 3, "3");
        vm.assertEq(registry.offerCount(), 3, "count");
        vm.assertEq(registry.providerOfferCount(alice), 2, "alice");
        vm.assertEq(registry.providerOfferCount(bob), 1, "bob");
    }

    function test_Register_EthOfferWithEmptyMetadata() public {
        OfferRegistry.OfferInput memory input = _input("m");
        input.asset = address(0);
        input.metadataURI = "";
        vm.prank(alice);
        uint256 id = registry.register(input);
        vm.assertEq(registry.getOffer(id).asset, address(0), "ETH");
    }

    function test_Register_RevertsOnEmptyModel() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(OfferRegistry.EmptyModel.selector));
        registry.register(_input(""));
    }

    function test_Register_RevertsOnEmptyEndpoint() public {
        OfferRegistry.OfferInput memory input = _input("m");
        input.endpoint = "";
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(OfferRegistry.EmptyEndpoint.selector));
        registry.register(input);
    }

    function test_Register_RevertsOnZeroMaxTokens() public {
        OfferRegistry.OfferInput memory input = _input("m");
        input.maxTokens = 0;
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(OfferRegistry.ZeroMaxTokens.selector));
        registry.register(input);
    }

    // ----------------------------------------------------------------- update

    function test_Update_ReplacesTermsAndEmits() public {
        uint256 id = _register(alice, "m");
        vm.warp(START_TIME + LATER);
        OfferRegistry.OfferInput memory input = _input("m2");
        input.base = BASE * 2;
        input.asset = address(0);
        input.maxTokens = MAX_TOKENS * 4;
        input.endpoint = "wss://example.invalid/v1/agent";

        vm.expectEmit(address(registry));
        emit OfferRegistry.OfferUpdated(id, alice, "m2", address(0), BASE * 2, IN_PER_M, OUT_PER_M);
        vm.prank(alice);
        registry.update(id, input);

        OfferRegistry.Offer memory o = registry.getOffer(id);
        vm.assertEq(o.id, id, "id kept");
        vm.assertEq(o.provider, alice, "provider kept");
        vm.assertTrue(o.active, "still active");
        vm.assertEq(uint256(o.updatedAt), START_TIME + LATER, "updatedAt");
        vm.assertEq(o.model, "m2", "model");
        vm.assertEq(o.endpoint, "wss://example.invalid/v1/agent", "endpoint");
        vm.assertEq(o.asset, address(0), "asset");
        vm.assertEq(o.base, BASE * 2, "base");
        vm.assertEq(uint256(o.maxTokens), MAX_TOKENS * 4, "maxTokens");
        vm.assertEq(registry.offerCount(), 1, "no new offer");
    }

    function test_Update_RevertsOnUnknownOffer() public {
        _register(alice, "m");
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(OfferRegistry.UnknownOffer.selector, 0));
        registry.update(0, _input("x"));
        vm.expectRevert(abi.encodeWithSelector(OfferRegistry.UnknownOffer.selector, 2));
        registry.update(2, _input("x"));
        vm.stopPrank();
    }

    function test_Update_RevertsForOtherProvider() public {
        uint256 id = _register(alice, "m");
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(OfferRegistry.NotOfferProvider.selector, id));
        registry.update(id, _input("x"));
    }

    function test_Update_RevertsWhenInactive() public {
        uint256 id = _register(alice, "m");
        vm.prank(alice);
        registry.deactivate(id);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(OfferRegistry.OfferInactive.selector, id));
        registry.update(id, _input("x"));
    }

    function test_Update_Validates() public {
        uint256 id = _register(alice, "m");
        OfferRegistry.OfferInput memory input = _input("");
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(OfferRegistry.EmptyModel.selector));
        registry.update(id, input);
        input = _input("m");
        input.endpoint = "";
        vm.expectRevert(abi.encodeWithSelector(OfferRegistry.EmptyEndpoint.selector));
        registry.update(id, input);
        input = _input("m");
        input.maxTokens = 0;
        vm.expectRevert(abi.encodeWithSelector(OfferRegistry.ZeroMaxTokens.selector));
        registry.update(id, input);
        vm.stopPrank();
    }

    // ------------------------------------------------------------- deactivate

    function test_Deactivate_KeepsOfferReadable() public {
        uint256 id = _register(alice, "m");
        vm.warp(START_TIME + LATER);
        vm.expectEmit(address(registry));
        emit OfferRegistry.OfferDeactivated(id, alice);
        vm.prank(alice);
        registry.deactivate(id);

        OfferRegistry.Offer memory o = registry.getOffer(id);
        vm.assertFalse(o.active, "inactive");
        vm.assertEq(uint256(o.updatedAt), START_TIME + LATER, "updatedAt");
        vm.assertEq(o.model, "m", "terms kept");
        vm.assertEq(registry.getOffers(0, 10).length, 1, "still listed");
    }

    function test_Deactivate_RevertsOnUnknownOffer() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(OfferRegistry.UnknownOffer.selector, 1));
        registry.deactivate(1);
    }

    function test_Deactivate_RevertsForOtherProvider() public {
        uint256 id = _register(alice, "m");
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(OfferRegistry.NotOfferProvider.selector, id));
        registry.deactivate(id);
    }

    function test_Deactivate_RevertsTwice() public {
        uint256 id = _register(alice, "m");
        vm.prank(alice);
        registry.deactivate(id);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(OfferRegistry.OfferInactive.selector, id));
        registry.deactivate(id);
    }

    // ------------------------------------------------------------------ views

    function test_GetOffer_RevertsOnUnknown() public {
        _register(alice, "m");
        vm.expectRevert(abi.encodeWithSelector(OfferRegistry.UnknownOffer.selector, 0));
        registry.getOffer(0);
        vm.expectRevert(abi.encodeWithSelector(OfferRegistry.UnknownOffer.selector, 2));
        registry.getOffer(2);
    }

    function test_GetOffers_Pages() public {
        uint256 total = 5;
        _registerMany(alice, total);

        OfferRegistry.Offer[] memory first = registry.getOffers(0, 2);
        vm.assertEq(first.length, 2, "first page");
        vm.assertEq(first[0].id, 1, "first id");
        vm.assertEq(first[1].id, 2, "second id");

        OfferRegistry.Offer[] memory last = registry.getOffers(4, 2);
        vm.assertEq(last.length, 1, "short last page");
        vm.assertEq(last[0].id, 5, "last id");
        vm.assertEq(last[0].model, "4", "last model");

        vm.assertEq(registry.getOffers(total, 2).length, 0, "start at end");
        vm.assertEq(registry.getOffers(total + 100, 2).length, 0, "start past end");
        vm.assertEq(registry.getOffers(0, 0).length, 0, "limit zero");
        vm.assertEq(registry.getOffers(0, type(uint256).max).length, total, "huge limit, no overflow");
        vm.assertEq(registry.getOffers(1, type(uint256).max).length, total - 1, "huge limit from 1");
    }

    function test_GetOffers_ClampsToMaxPage() public {
        uint256 maxPage = registry.MAX_PAGE();
        vm.assertEq(maxPage, 200, "MAX_PAGE");
        _registerMany(alice, maxPage + 3);
        OfferRegistry.Offer[] memory page = registry.getOffers(0, maxPage + 50);
        vm.assertEq(page.length, maxPage, "clamped");
        vm.assertEq(page[maxPage - 1].id, maxPage, "last of the page");
        OfferRegistry.Offer[] memory rest = registry.getOffers(maxPage, maxPage);
        vm.assertEq(rest.length, 3, "rest");
        vm.assertEq(rest[2].id, maxPage + 3, "last id");
    }

    function test_GetProviderOffers_PagesOneProvider() public {
        _register(alice, "a0");
        _register(bob, "b0");
        _register(alice, "a1");
        _register(bob, "b1");
        _register(alice, "a2");

        OfferRegistry.Offer[] memory a = registry.getProviderOffers(alice, 0, 10);
        vm.assertEq(a.length, 3, "alice has three");
        vm.assertEq(a[0].id, 1, "a0");
        vm.assertEq(a[1].id, 3, "a1");
        vm.assertEq(a[2].id, 5, "a2");
        vm.assertEq(a[2].model, "a2", "a2 model");

        OfferRegistry.Offer[] memory b = registry.getProviderOffers(bob, 1, 10);
        vm.assertEq(b.length, 1, "bob from 1");
        vm.assertEq(b[0].id, 4, "b1");

        vm.assertEq(registry.getProviderOffers(alice, 1, 1).length, 1, "one");
        vm.assertEq(registry.getProviderOffers(alice, 1, 1)[0].id, 3, "second of alice");
        vm.assertEq(registry.getProviderOffers(alice, 3, 1).length, 0, "past end");
        vm.assertEq(registry.getProviderOffers(alice, 0, type(uint256).max).length, 3, "huge limit");
        vm.assertEq(registry.getProviderOffers(makeAddr("nobody"), 0, 10).length, 0, "nobody");
    }

    function test_GetProviderOffers_ClampsToMaxPage() public {
        uint256 maxPage = registry.MAX_PAGE();
        _registerMany(bob, maxPage + 1);
        vm.assertEq(registry.getProviderOffers(bob, 0, maxPage + 1).length, maxPage, "clamped");
        vm.assertEq(registry.getProviderOffers(bob, maxPage, maxPage).length, 1, "rest");
    }

    function testFuzz_GetOffers_PageBounds(uint256 start, uint256 limit) public {
        uint256 total = 7;
        _registerMany(alice, total);
        start = bound(start, 0, total + 2);
        OfferRegistry.Offer[] memory page = registry.getOffers(start, limit);
        uint256 wanted = limit > registry.MAX_PAGE() ? registry.MAX_PAGE() : limit;
        uint256 available = start >= total ? 0 : total - start;
        vm.assertEq(page.length, wanted < available ? wanted : available, "page length");
        for (uint256 i; i < page.length; ++i) {
            vm.assertEq(page[i].id, start + i + 1, "ids in order");
        }
    }
}
