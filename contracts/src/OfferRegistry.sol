// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title OfferRegistry
/// @notice Where compute providers publish their offers and agents find them.
/// An offer names a model, the websocket endpoint that takes jobs, the asset
/// it is paid in (address(0) for native ETH) and its price:
/// cost = base + ceil((inputTokens·inPerM + outputTokens·outPerM) / 1e6),
/// in the asset's base units. Everything an agent needs to choose and reach a
/// provider is on chain; `metadataURI` may point at more.
contract OfferRegistry {
    struct OfferInput {
        string model;
        string endpoint;
        address asset;
        uint256 base;
        uint256 inPerM;
        uint256 outPerM;
        uint64 maxTokens;
        string metadataURI;
    }

    struct Offer {
        uint256 id;
        address provider;
        bool active;
        uint64 updatedAt;
        string model;
        string endpoint;
        address asset;
        uint256 base;
        uint256 inPerM;
        uint256 outPerM;
        uint64 maxTokens;
        string metadataURI;
    }

    uint256 public constant MAX_PAGE = 200;

    Offer[] private _offers; // id = index + 1
    mapping(address => uint256[]) private _byProvider;

    event OfferRegistered(
        uint256 indexed id, address indexed provider, string model, address asset, uint256 base, uint256 inPerM, uint256 outPerM
    );
    event OfferUpdated(
        uint256 indexed id, address indexed provider, string model, address asset, uint256 base, uint256 inPerM, uint256 outPerM
    );
    event OfferDeactivated(uint256 indexed id, address indexed provider);

    error UnknownOffer(uint256 id);
    error NotOfferProvider(uint256 id);
    error OfferInactive(uint256 id);
    error EmptyModel();
    error EmptyEndpoint();
    error ZeroMaxTokens();

    /// @notice Publishes a new offer from msg.sender; returns its id (≥ 1).
    function register(OfferInput calldata input) external returns (uint256 id) {
        _validate(input);
        id = _offers.length + 1;
        Offer storage o = _offers.push();
        o.id = id;
        o.provider = msg.sender;
        o.active = true;
        _write(o, input);
        _byProvider[msg.sender].push(id);
        emit OfferRegistered(id, msg.sender, input.model, input.asset, input.base, input.inPerM, input.outPerM);
    }

    /// @notice Replaces an active offer's terms. Jobs already paid keep the
    /// price they were authorized at; the node quotes from the chain.
    function update(uint256 id, OfferInput calldata input) external {
        Offer storage o = _own(id);
        if (!o.active) revert OfferInactive(id);
        _validate(input);
        _write(o, input);
        emit OfferUpdated(id, msg.sender, input.model, input.asset, input.base, input.inPerM, input.outPerM);
    }

    /// @notice Withdraws an offer for good; it stays readable, inactive.
    function deactivate(uint256 id) external {
        Offer storage o = _own(id);
        if (!o.active) revert OfferInactive(id);
        o.active = false;
        o.updatedAt = uint64(block.timestamp);
        emit OfferDeactivated(id, msg.sender);
    }

    /// @notice The number of offers ever registered (ids 1..offerCount).
    function offerCount() external view returns (uint256) {
        return _offers.length;
    }

    function getOffer(uint256 id) external view returns (Offer memory) {
        if (id == 0 || id > _offers.length) revert UnknownOffer(id);
        return _offers[id - 1];
    }

    /// @notice Offers with ids start+1 .. start+limit (limit ≤ MAX_PAGE),
    /// active or not; fewer at the end.
    function getOffers(uint256 start, uint256 limit) external view returns (Offer[] memory page) {
        uint256 total = _offers.length;
        if (limit > MAX_PAGE) limit = MAX_PAGE;
        if (start >= total) return new Offer[](0);
        uint256 end = start + limit > total ? total : start + limit;
        page = new Offer[](end - start);
        for (uint256 i = start; i < end; ++i) {
            page[i - start] = _offers[i];
        }
    }

    function providerOfferCount(address provider) external view returns (uint256) {
        return _byProvider[provider].length;
    }

    /// @notice One provider's offers, in registration order, paged.
    function getProviderOffers(address provider, uint256 start, uint256 limit)
        external
        view
        returns (Offer[] memory page)
    {
        uint256[] storage ids = _byProvider[provider];
        uint256 total = ids.length;
        if (limit > MAX_PAGE) limit = MAX_PAGE;
        if (start >= total) return new Offer[](0);
        uint256 end = start + limit > total ? total : start + limit;
        page = new Offer[](end - start);
        for (uint256 i = start; i < end; ++i) {
            page[i - start] = _offers[ids[i] - 1];
        }
    }

    function _own(uint256 id) private view returns (Offer storage o) {
        if (id == 0 || id > _offers.length) revert UnknownOffer(id);
        o = _offers[id - 1];
        if (o.provider != msg.sender) revert NotOfferProvider(id);
    }

    function _validate(OfferInput calldata input) private pure {
        if (bytes(input.model).length == 0) revert EmptyModel();
        if (bytes(input.endpoint).length == 0) revert EmptyEndpoint();
        if (input.maxTokens == 0) revert ZeroMaxTokens();
    }

    function _write(Offer storage o, OfferInput calldata input) private {
        o.updatedAt = uint64(block.timestamp);
        o.model = input.model;
        o.endpoint = input.endpoint;
        o.asset = input.asset;
        o.base = input.base;
        o.inPerM = input.inPerM;
        o.outPerM = input.outPerM;
        o.maxTokens = input.maxTokens;
        o.metadataURI = input.metadataURI;
    }
}
