// Code generated via abigen V2 - DO NOT EDIT.
// This file is a generated binding and any manual changes will be lost.

package bindings

import (
	"bytes"
	"errors"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// Reference imports to suppress errors if they are not otherwise used.
var (
	_ = bytes.Equal
	_ = errors.New
	_ = big.NewInt
	_ = common.Big1
	_ = types.BloomLookup
	_ = abi.ConvertType
)

// OfferRegistryOffer is an auto generated low-level Go binding around an user-defined struct.
type OfferRegistryOffer struct {
	Id          *big.Int
	Provider    common.Address
	Active      bool
	UpdatedAt   uint64
	Model       string
	Endpoint    string
	Asset       common.Address
	Base        *big.Int
	InPerM      *big.Int
	OutPerM     *big.Int
	MaxTokens   uint64
	MetadataURI string
}

// OfferRegistryOfferInput is an auto generated low-level Go binding around an user-defined struct.
type OfferRegistryOfferInput struct {
	Model       string
	Endpoint    string
	Asset       common.Address
	Base        *big.Int
	InPerM      *big.Int
	OutPerM     *big.Int
	MaxTokens   uint64
	MetadataURI string
}

// OfferRegistryMetaData contains all meta data concerning the OfferRegistry contract.
var OfferRegistryMetaData = bind.MetaData{
	ABI: "[{\"type\":\"function\",\"name\":\"MAX_PAGE\",\"inputs\":[],\"outputs\":[{\"name\":\"\",\"type\":\"uint256\",\"internalType\":\"uint256\"}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"deactivate\",\"inputs\":[{\"name\":\"id\",\"type\":\"uint256\",\"internalType\":\"uint256\"}],\"outputs\":[],\"stateMutability\":\"nonpayable\"},{\"type\":\"function\",\"name\":\"getOffer\",\"inputs\":[{\"name\":\"id\",\"type\":\"uint256\",\"internalType\":\"uint256\"}],\"outputs\":[{\"name\":\"\",\"type\":\"tuple\",\"internalType\":\"structOfferRegistry.Offer\",\"components\":[{\"name\":\"id\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"provider\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"active\",\"type\":\"bool\",\"internalType\":\"bool\"},{\"name\":\"updatedAt\",\"type\":\"uint64\",\"internalType\":\"uint64\"},{\"name\":\"model\",\"type\":\"string\",\"internalType\":\"string\"},{\"name\":\"endpoint\",\"type\":\"string\",\"internalType\":\"string\"},{\"name\":\"asset\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"base\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"inPerM\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"outPerM\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"maxTokens\",\"type\":\"uint64\",\"internalType\":\"uint64\"},{\"name\":\"metadataURI\",\"type\":\"string\",\"internalType\":\"string\"}]}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"getOffers\",\"inputs\":[{\"name\":\"start\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"limit\",\"type\":\"uint256\",\"internalType\":\"uint256\"}],\"outputs\":[{\"name\":\"page\",\"type\":\"tuple[]\",\"internalType\":\"structOfferRegistry.Offer[]\",\"components\":[{\"name\":\"id\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"provider\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"active\",\"type\":\"bool\",\"internalType\":\"bool\"},{\"name\":\"updatedAt\",\"type\":\"uint64\",\"internalType\":\"uint64\"},{\"name\":\"model\",\"type\":\"string\",\"internalType\":\"string\"},{\"name\":\"endpoint\",\"type\":\"string\",\"internalType\":\"string\"},{\"name\":\"asset\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"base\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"inPerM\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"outPerM\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"maxTokens\",\"type\":\"uint64\",\"internalType\":\"uint64\"},{\"name\":\"metadataURI\",\"type\":\"string\",\"internalType\":\"string\"}]}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"getProviderOffers\",\"inputs\":[{\"name\":\"provider\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"start\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"limit\",\"type\":\"uint256\",\"internalType\":\"uint256\"}],\"outputs\":[{\"name\":\"page\",\"type\":\"tuple[]\",\"internalType\":\"structOfferRegistry.Offer[]\",\"components\":[{\"name\":\"id\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"provider\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"active\",\"type\":\"bool\",\"internalType\":\"bool\"},{\"name\":\"updatedAt\",\"type\":\"uint64\",\"internalType\":\"uint64\"},{\"name\":\"model\",\"type\":\"string\",\"internalType\":\"string\"},{\"name\":\"endpoint\",\"type\":\"string\",\"internalType\":\"string\"},{\"name\":\"asset\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"base\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"inPerM\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"outPerM\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"maxTokens\",\"type\":\"uint64\",\"internalType\":\"uint64\"},{\"name\":\"metadataURI\",\"type\":\"string\",\"internalType\":\"string\"}]}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"offerCount\",\"inputs\":[],\"outputs\":[{\"name\":\"\",\"type\":\"uint256\",\"internalType\":\"uint256\"}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"providerOfferCount\",\"inputs\":[{\"name\":\"provider\",\"type\":\"address\",\"internalType\":\"address\"}],\"outputs\":[{\"name\":\"\",\"type\":\"uint256\",\"internalType\":\"uint256\"}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"register\",\"inputs\":[{\"name\":\"input\",\"type\":\"tuple\",\"internalType\":\"structOfferRegistry.OfferInput\",\"components\":[{\"name\":\"model\",\"type\":\"string\",\"internalType\":\"string\"},{\"name\":\"endpoint\",\"type\":\"string\",\"internalType\":\"string\"},{\"name\":\"asset\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"base\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"inPerM\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"outPerM\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"maxTokens\",\"type\":\"uint64\",\"internalType\":\"uint64\"},{\"name\":\"metadataURI\",\"type\":\"string\",\"internalType\":\"string\"}]}],\"outputs\":[{\"name\":\"id\",\"type\":\"uint256\",\"internalType\":\"uint256\"}],\"stateMutability\":\"nonpayable\"},{\"type\":\"function\",\"name\":\"update\",\"inputs\":[{\"name\":\"id\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"input\",\"type\":\"tuple\",\"internalType\":\"structOfferRegistry.OfferInput\",\"components\":[{\"name\":\"model\",\"type\":\"string\",\"internalType\":\"string\"},{\"name\":\"endpoint\",\"type\":\"string\",\"internalType\":\"string\"},{\"name\":\"asset\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"base\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"inPerM\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"outPerM\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"maxTokens\",\"type\":\"uint64\",\"internalType\":\"uint64\"},{\"name\":\"metadataURI\",\"type\":\"string\",\"internalType\":\"string\"}]}],\"outputs\":[],\"stateMutability\":\"nonpayable\"},{\"type\":\"event\",\"name\":\"OfferDeactivated\",\"inputs\":[{\"name\":\"id\",\"type\":\"uint256\",\"indexed\":true,\"internalType\":\"uint256\"},{\"name\":\"provider\",\"type\":\"address\",\"indexed\":true,\"internalType\":\"address\"}],\"anonymous\":false},{\"type\":\"event\",\"name\":\"OfferRegistered\",\"inputs\":[{\"name\":\"id\",\"type\":\"uint256\",\"indexed\":true,\"internalType\":\"uint256\"},{\"name\":\"provider\",\"type\":\"address\",\"indexed\":true,\"internalType\":\"address\"},{\"name\":\"model\",\"type\":\"string\",\"indexed\":false,\"internalType\":\"string\"},{\"name\":\"asset\",\"type\":\"address\",\"indexed\":false,\"internalType\":\"address\"},{\"name\":\"base\",\"type\":\"uint256\",\"indexed\":false,\"internalType\":\"uint256\"},{\"name\":\"inPerM\",\"type\":\"uint256\",\"indexed\":false,\"internalType\":\"uint256\"},{\"name\":\"outPerM\",\"type\":\"uint256\",\"indexed\":false,\"internalType\":\"uint256\"}],\"anonymous\":false},{\"type\":\"event\",\"name\":\"OfferUpdated\",\"inputs\":[{\"name\":\"id\",\"type\":\"uint256\",\"indexed\":true,\"internalType\":\"uint256\"},{\"name\":\"provider\",\"type\":\"address\",\"indexed\":true,\"internalType\":\"address\"},{\"name\":\"model\",\"type\":\"string\",\"indexed\":false,\"internalType\":\"string\"},{\"name\":\"asset\",\"type\":\"address\",\"indexed\":false,\"internalType\":\"address\"},{\"name\":\"base\",\"type\":\"uint256\",\"indexed\":false,\"internalType\":\"uint256\"},{\"name\":\"inPerM\",\"type\":\"uint256\",\"indexed\":false,\"internalType\":\"uint256\"},{\"name\":\"outPerM\",\"type\":\"uint256\",\"indexed\":false,\"internalType\":\"uint256\"}],\"anonymous\":false},{\"type\":\"error\",\"name\":\"EmptyEndpoint\",\"inputs\":[]},{\"type\":\"error\",\"name\":\"EmptyModel\",\"inputs\":[]},{\"type\":\"error\",\"name\":\"NotOfferProvider\",\"inputs\":[{\"name\":\"id\",\"type\":\"uint256\",\"internalType\":\"uint256\"}]},{\"type\":\"error\",\"name\":\"OfferInactive\",\"inputs\":[{\"name\":\"id\",\"type\":\"uint256\",\"internalType\":\"uint256\"}]},{\"type\":\"error\",\"name\":\"UnknownOffer\",\"inputs\":[{\"name\":\"id\",\"type\":\"uint256\",\"internalType\":\"uint256\"}]},{\"type\":\"error\",\"name\":\"ZeroMaxTokens\",\"inputs\":[]}]",
	ID:  "OfferRegistry",
	Bin: "0x6080604052348015600e575f5ffd5b50611c538061001c5f395ff3fe608060405234801561000f575f5ffd5b506004361061009f575f3560e01c8063916b9bef11610072578063a318bab011610058578063a318bab014610129578063ba79837d1461015e578063d124dd4c14610171575f5ffd5b8063916b9bef146100f657806397d6eb1914610109575f5ffd5b80631115c24d146100a35780634579268a146100b957806369fc09b9146100d95780637484b2d5146100e1575b5f5ffd5b5f545b6040519081526020015b60405180910390f35b6100cc6100c73660046115b6565b610184565b6040516100b09190611737565b6100a660c881565b6100f46100ef366004611760565b610530565b005b6100f46101043660046115b6565b610614565b61011c6101173660046117a4565b6106f8565b6040516100b091906117c4565b6100a6610137366004611868565b73ffffffffffffffffffffffffffffffffffffffff165f9081526001602052604090205490565b61011c61016c366004611881565b610bed565b6100a661017f3660046118b1565b611130565b6102216040518061018001604052805f81526020015f73ffffffffffffffffffffffffffffffffffffffff1681526020015f151581526020015f67ffffffffffffffff16815260200160608152602001606081526020015f73ffffffffffffffffffffffffffffffffffffffff1681526020015f81526020015f81526020015f81526020015f67ffffffffffffffff168152602001606081525090565b81158061022e57505f5482115b1561026d576040517f1021ae22000000000000000000000000000000000000000000000000000000008152600481018390526024015b60405180910390fd5b5f610279600184611918565b815481106102895761028961192b565b5f9182526020918290206040805161018081018252600a9390930290910180548352600181015473ffffffffffffffffffffffffffffffffffffffff81169484019490945274010000000000000000000000000000000000000000840460ff16151591830191909152750100000000000000000000000000000000000000000090920467ffffffffffffffff16606082015260028201805491929160808401919061033390611958565b80601f016020809104026020016040519081016040528092919081815260200182805461035f90611958565b80156103aa5780601f10610381576101008083540402835291602001916103aa565b820191905f5260205f20905b81548152906001019060200180831161038d57829003601f168201915b505050505081526020016003820180546103c390611958565b80601f01602080910402602001604051908101604052809291908181526020018280546103ef90611958565b801561043a5780601f106104115761010080835404028352916020019161043a565b820191905f5260205f20905b81548152906001019060200180831161041d57829003601f168201915b5050509183525050600482015473ffffffffffffffffffffffffffffffffffffffff166020820152600582015460408201526006820154606082015260078201546080820152600882015467ffffffffffffffff1660a082015260098201805460c0909201916104a990611958565b80601f01602080910402602001604051908101604052809291908181526020018280546104d590611958565b80156105205780601f106104f757610100808354040283529160200191610520565b820191905f5260205f20905b81548152906001019060200180831161050357829003601f168201915b5050505050815250509050919050565b5f61053a8361129b565b600181015490915074010000000000000000000000000000000000000000900460ff16610596576040517fd2cfbeda00000000000000000000000000000000000000000000000000000000815260048101849052602401610264565b61059f8261136d565b6105a9818361144d565b33837f79ee9f78303b047f3fff1bce522825b54298ad31f971d79689101a181363a8bc6105d685806119a3565b6105e66060880160408901611868565b876060013588608001358960a0013560405161060796959493929190611a0b565b60405180910390a3505050565b5f61061e8261129b565b600181015490915074010000000000000000000000000000000000000000900460ff1661067a576040517fd2cfbeda00000000000000000000000000000000000000000000000000000000815260048101839052602401610264565b6001810180547fffffff000000000000000000ffffffffffffffffffffffffffffffffffffffff1675010000000000000000000000000000000000000000004267ffffffffffffffff1602179055604051339083907f7396d7b9b9d06aed97fc917b68d0d07e75b3a6b21f7db9057b9c363a89926671905f90a35050565b5f5460609060c883111561070b5760c892505b8084106107e057604080515f80825260208201909252906107d7565b6107c46040518061018001604052805f81526020015f73ffffffffffffffffffffffffffffffffffffffff1681526020015f151581526020015f67ffffffffffffffff16815260200160608152602001606081526020015f73ffffffffffffffffffffffffffffffffffffffff1681526020015f81526020015f81526020015f81526020015f67ffffffffffffffff168152602001606081525090565b8152602001906001900390816107275790505b50915050610be7565b5f816107ec8587611ab8565b11610800576107fb8486611ab8565b610802565b815b905061080e8582611918565b67ffffffffffffffff81111561082657610826611a8b565b6040519080825280602002602001820160405280156108f457816020015b6108e16040518061018001604052805f81526020015f73ffffffffffffffffffffffffffffffffffffffff1681526020015f151581526020015f67ffffffffffffffff16815260200160608152602001606081526020015f73ffffffffffffffffffffffffffffffffffffffff1681526020015f81526020015f81526020015f81526020015f67ffffffffffffffff168152602001606081525090565b8152602001906001900390816108445790505b509250845b81811015610be3575f81815481106109135761091361192b565b5f9182526020918290206040805161018081018252600a9390930290910180548352600181015473ffffffffffffffffffffffffffffffffffffffff81169484019490945274010000000000000000000000000000000000000000840460ff16151591830191909152750100000000000000000000000000000000000000000090920467ffffffffffffffff1660608201526002820180549192916080840191906109bd90611958565b80601f01602080910402602001604051908101604052809291908181526020018280546109e990611958565b8015610a345780601f10610a0b57610100808354040283529160200191610a34565b820191905f5260205f20905b815481529060010190602001808311610a1757829003601f168201915b50505050508152602001600382018054610a4d90611958565b80601f0160208091040260200160405190810160405280929190818152602001828054610a7990611958565b8015610ac45780601f10610a9b57610100808354040283529160200191610ac4565b820191905f5260205f20905b815481529060010190602001808311610aa757829003601f168201915b5050509183525050600482015473ffffffffffffffffffffffffffffffffffffffff166020820152600582015460408201526006820154606082015260078201546080820152600882015467ffffffffffffffff1660a082015260098201805460c090920191610b3390611958565b80601f0160208091040260200160405190810160405280929190818152602001828054610b5f90611958565b8015610baa5780601f10610b8157610100808354040283529160200191610baa565b820191905f5260205f20905b815481529060010190602001808311610b8d57829003601f168201915b505050505081525050848783610bc09190611918565b81518110610bd057610bd061192b565b60209081029190910101526001016108f9565b5050505b92915050565b73ffffffffffffffffffffffffffffffffffffffff83165f90815260016020526040902080546060919060c8841115610c255760c893505b808510610cfb57604080515f8082526020820190925290610cf1565b610cde6040518061018001604052805f81526020015f73ffffffffffffffffffffffffffffffffffffffff1681526020015f151581526020015f67ffffffffffffffff16815260200160608152602001606081526020015f73ffffffffffffffffffffffffffffffffffffffff1681526020015f81526020015f81526020015f81526020015f67ffffffffffffffff168152602001606081525090565b815260200190600190039081610c415790505b5092505050611129565b5f81610d078688611ab8565b11610d1b57610d168587611ab8565b610d1d565b815b9050610d298682611918565b67ffffffffffffffff811115610d4157610d41611a8b565b604051908082528060200260200182016040528015610e0f57816020015b610dfc6040518061018001604052805f81526020015f73ffffffffffffffffffffffffffffffffffffffff1681526020015f151581526020015f67ffffffffffffffff16815260200160608152602001606081526020015f73ffffffffffffffffffffffffffffffffffffffff1681526020015f81526020015f81526020015f81526020015f67ffffffffffffffff168152602001606081525090565b815260200190600190039081610d5f5790505b509350855b81811015611124575f6001858381548110610e3157610e3161192b565b905f5260205f200154610e449190611918565b81548110610e5457610e5461192b565b5f9182526020918290206040805161018081018252600a9390930290910180548352600181015473ffffffffffffffffffffffffffffffffffffffff81169484019490945274010000000000000000000000000000000000000000840460ff16151591830191909152750100000000000000000000000000000000000000000090920467ffffffffffffffff166060820152600282018054919291608084019190610efe90611958565b80601f0160208091040260200160405190810160405280929190818152602001828054610f2a90611958565b8015610f755780601f10610f4c57610100808354040283529160200191610f75565b820191905f5260205f20905b815481529060010190602001808311610f5857829003601f168201915b50505050508152602001600382018054610f8e90611958565b80601f0160208091040260200160405190810160405280929190818152602001828054610fba90611958565b80156110055780601f10610fdc57610100808354040283529160200191611005565b820191905f5260205f20905b815481529060010190602001808311610fe857829003601f168201915b5050509183525050600482015473ffffffffffffffffffffffffffffffffffffffff166020820152600582015460408201526006820154606082015260078201546080820152600882015467ffffffffffffffff1660a082015260098201805460c09092019161107490611958565b80601f01602080910402602001604051908101604052809291908181526020018280546110a090611958565b80156110eb5780601f106110c2576101008083540402835291602001916110eb565b820191905f5260205f20905b8154815290600101906020018083116110ce57829003601f168201915b5050505050815250508588836111019190611918565b815181106111115761111161192b565b6020908102919091010152600101610e14565b505050505b9392505050565b5f61113a8261136d565b5f54611147906001611ab8565b5f8054600181018255908052600a027f290decd9548b62a8d60345a988386fc84ba6bc95484008f6362f93160ef3e56381018281557f290decd9548b62a8d60345a988386fc84ba6bc95484008f6362f93160ef3e56490910180547fffffffffffffffffffffff00ffffffffffffffffffffffffffffffffffffffff33167fffffffffffffffffffffff0000000000000000000000000000000000000000009091161774010000000000000000000000000000000000000000179055909150611210818461144d565b335f818152600160208181526040832080549283018155835290912001839055827fc2a517a76ad0a9878bd15b65f28dfc491ddbd2382bb19a0bfa961f3f984f13c061125c86806119a3565b61126c6060890160408a01611868565b886060013589608001358a60a0013560405161128d96959493929190611a0b565b60405180910390a350919050565b5f8115806112a957505f5482115b156112e3576040517f1021ae2200000000000000000000000000000000000000000000000000000000815260048101839052602401610264565b5f6112ef600184611918565b815481106112ff576112ff61192b565b5f91825260209091206001600a909202019081015490915073ffffffffffffffffffffffffffffffffffffffff163314611368576040517f96efb00600000000000000000000000000000000000000000000000000000000815260048101839052602401610264565b919050565b61137781806119a3565b90505f036113b1576040517f5fa8f2f200000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b6113be60208201826119a3565b90505f036113f8576040517f885062b400000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b61140860e0820160c08301611acb565b67ffffffffffffffff165f0361144a576040517fba44d6c800000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b50565b6001820180547fffffff0000000000000000ffffffffffffffffffffffffffffffffffffffffff1675010000000000000000000000000000000000000000004267ffffffffffffffff16021790556114a581806119a3565b60028401916114b5919083611b3d565b506114c360208201826119a3565b60038401916114d3919083611b3d565b506114e46060820160408301611868565b6004830180547fffffffffffffffffffffffff00000000000000000000000000000000000000001673ffffffffffffffffffffffffffffffffffffffff92909216919091179055606081013560058301556080810135600683015560a0810135600783015561155960e0820160c08301611acb565b6008830180547fffffffffffffffffffffffffffffffffffffffffffffffff00000000000000001667ffffffffffffffff929092169190911790556115a160e08201826119a3565b60098401916115b1919083611b3d565b505050565b5f602082840312156115c6575f5ffd5b5035919050565b5f81518084528060208401602086015e5f6020828601015260207fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe0601f83011685010191505092915050565b805182525f6020820151611645602085018273ffffffffffffffffffffffffffffffffffffffff169052565b506040820151611659604085018215159052565b506060820151611675606085018267ffffffffffffffff169052565b50608082015161018060808501526116916101808501826115cd565b905060a083015184820360a08601526116aa82826115cd565b91505060c08301516116d460c086018273ffffffffffffffffffffffffffffffffffffffff169052565b5060e083015160e085015261010083015161010085015261012083015161012085015261014083015161171461014086018267ffffffffffffffff169052565b5061016083015184820361016086015261172e82826115cd565b95945050505050565b602081525f6111296020830184611619565b5f610100828403121561175a575f5ffd5b50919050565b5f5f60408385031215611771575f5ffd5b82359150602083013567ffffffffffffffff81111561178e575f5ffd5b61179a85828601611749565b9150509250929050565b5f5f604083850312156117b5575f5ffd5b50508035926020909101359150565b5f602082016020835280845180835260408501915060408160051b8601019250602086015f5b82811015611839577fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffc0878603018452611824858351611619565b945060209384019391909101906001016117ea565b50929695505050505050565b803573ffffffffffffffffffffffffffffffffffffffff81168114611368575f5ffd5b5f60208284031215611878575f5ffd5b61112982611845565b5f5f5f60608486031215611893575f5ffd5b61189c84611845565b95602085013595506040909401359392505050565b5f602082840312156118c1575f5ffd5b813567ffffffffffffffff8111156118d7575f5ffd5b6118e384828501611749565b949350505050565b7f4e487b71000000000000000000000000000000000000000000000000000000005f52601160045260245ffd5b81810381811115610be757610be76118eb565b7f4e487b71000000000000000000000000000000000000000000000000000000005f52603260045260245ffd5b600181811c9082168061196c57607f821691505b60208210810361175a577f4e487b71000000000000000000000000000000000000000000000000000000005f52602260045260245ffd5b5f5f83357fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe18436030181126119d6575f5ffd5b83018035915067ffffffffffffffff8211156119f0575f5ffd5b602001915036819003821315611a04575f5ffd5b9250929050565b60a081528560a0820152858760c08301375f60c087830101525f60c07fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe0601f890116830101905073ffffffffffffffffffffffffffffffffffffffff86166020830152846040830152836060830152826080830152979650505050505050565b7f4e487b71000000000000000000000000000000000000000000000000000000005f52604160045260245ffd5b80820180821115610be757610be76118eb565b5f60208284031215611adb575f5ffd5b813567ffffffffffffffff81168114611129575f5ffd5b601f8211156115b157805f5260205f20601f840160051c81016020851015611b175750805b601f840160051c820191505b81811015611b36575f8155600101611b23565b5050505050565b67ffffffffffffffff831115611b5557611b55611a8b565b611b6983611b638354611958565b83611af2565b5f601f841160018114611bb9575f8515611b835750838201355b7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff600387901b1c1916600186901b178355611b36565b5f838152602081207fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe08716915b82811015611c065786850135825560209485019460019092019101611be6565b5086821015611c41577fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff60f88860031b161c19848701351681555b505060018560011b018355505050505056",
}

// OfferRegistry is an auto generated Go binding around an Ethereum contract.
type OfferRegistry struct {
	abi abi.ABI
}

// GetABI returns the ABI associated with this contract binding.
func (c *OfferRegistry) GetABI() abi.ABI {
	return c.abi
}

// NewOfferRegistry creates a new instance of OfferRegistry.
func NewOfferRegistry() *OfferRegistry {
	parsed, err := OfferRegistryMetaData.ParseABI()
	if err != nil {
		panic(errors.New("invalid ABI: " + err.Error()))
	}
	return &OfferRegistry{abi: *parsed}
}

// Instance creates a wrapper for a deployed contract instance at the given address.
// Use this to create the instance object passed to abigen v2 library functions Call, Transact, etc.
func (c *OfferRegistry) Instance(backend bind.ContractBackend, addr common.Address) *bind.BoundContract {
	return bind.NewBoundContract(addr, c.abi, backend, backend, backend)
}

// PackMAXPAGE is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x69fc09b9.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function MAX_PAGE() view returns(uint256)
func (offerRegistry *OfferRegistry) PackMAXPAGE() []byte {
	enc, err := offerRegistry.abi.Pack("MAX_PAGE")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackMAXPAGE is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x69fc09b9.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function MAX_PAGE() view returns(uint256)
func (offerRegistry *OfferRegistry) TryPackMAXPAGE() ([]byte, error) {
	return offerRegistry.abi.Pack("MAX_PAGE")
}

// UnpackMAXPAGE is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x69fc09b9.
//
// Solidity: function MAX_PAGE() view returns(uint256)
func (offerRegistry *OfferRegistry) UnpackMAXPAGE(data []byte) (*big.Int, error) {
	out, err := offerRegistry.abi.Unpack("MAX_PAGE", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackDeactivate is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x916b9bef.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function deactivate(uint256 id) returns()
func (offerRegistry *OfferRegistry) PackDeactivate(id *big.Int) []byte {
	enc, err := offerRegistry.abi.Pack("deactivate", id)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackDeactivate is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x916b9bef.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function deactivate(uint256 id) returns()
func (offerRegistry *OfferRegistry) TryPackDeactivate(id *big.Int) ([]byte, error) {
	return offerRegistry.abi.Pack("deactivate", id)
}

// PackGetOffer is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x4579268a.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function getOffer(uint256 id) view returns((uint256,address,bool,uint64,string,string,address,uint256,uint256,uint256,uint64,string))
func (offerRegistry *OfferRegistry) PackGetOffer(id *big.Int) []byte {
	enc, err := offerRegistry.abi.Pack("getOffer", id)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackGetOffer is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x4579268a.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function getOffer(uint256 id) view returns((uint256,address,bool,uint64,string,string,address,uint256,uint256,uint256,uint64,string))
func (offerRegistry *OfferRegistry) TryPackGetOffer(id *big.Int) ([]byte, error) {
	return offerRegistry.abi.Pack("getOffer", id)
}

// UnpackGetOffer is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x4579268a.
//
// Solidity: function getOffer(uint256 id) view returns((uint256,address,bool,uint64,string,string,address,uint256,uint256,uint256,uint64,string))
func (offerRegistry *OfferRegistry) UnpackGetOffer(data []byte) (OfferRegistryOffer, error) {
	out, err := offerRegistry.abi.Unpack("getOffer", data)
	if err != nil {
		return *new(OfferRegistryOffer), err
	}
	out0 := *abi.ConvertType(out[0], new(OfferRegistryOffer)).(*OfferRegistryOffer)
	return out0, nil
}

// PackGetOffers is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x97d6eb19.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function getOffers(uint256 start, uint256 limit) view returns((uint256,address,bool,uint64,string,string,address,uint256,uint256,uint256,uint64,string)[] page)
func (offerRegistry *OfferRegistry) PackGetOffers(start *big.Int, limit *big.Int) []byte {
	enc, err := offerRegistry.abi.Pack("getOffers", start, limit)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackGetOffers is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x97d6eb19.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function getOffers(uint256 start, uint256 limit) view returns((uint256,address,bool,uint64,string,string,address,uint256,uint256,uint256,uint64,string)[] page)
func (offerRegistry *OfferRegistry) TryPackGetOffers(start *big.Int, limit *big.Int) ([]byte, error) {
	return offerRegistry.abi.Pack("getOffers", start, limit)
}

// UnpackGetOffers is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x97d6eb19.
//
// Solidity: function getOffers(uint256 start, uint256 limit) view returns((uint256,address,bool,uint64,string,string,address,uint256,uint256,uint256,uint64,string)[] page)
func (offerRegistry *OfferRegistry) UnpackGetOffers(data []byte) ([]OfferRegistryOffer, error) {
	out, err := offerRegistry.abi.Unpack("getOffers", data)
	if err != nil {
		return *new([]OfferRegistryOffer), err
	}
	out0 := *abi.ConvertType(out[0], new([]OfferRegistryOffer)).(*[]OfferRegistryOffer)
	return out0, nil
}

// PackGetProviderOffers is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xba79837d.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function getProviderOffers(address provider, uint256 start, uint256 limit) view returns((uint256,address,bool,uint64,string,string,address,uint256,uint256,uint256,uint64,string)[] page)
func (offerRegistry *OfferRegistry) PackGetProviderOffers(provider common.Address, start *big.Int, limit *big.Int) []byte {
	enc, err := offerRegistry.abi.Pack("getProviderOffers", provider, start, limit)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackGetProviderOffers is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xba79837d.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function getProviderOffers(address provider, uint256 start, uint256 limit) view returns((uint256,address,bool,uint64,string,string,address,uint256,uint256,uint256,uint64,string)[] page)
func (offerRegistry *OfferRegistry) TryPackGetProviderOffers(provider common.Address, start *big.Int, limit *big.Int) ([]byte, error) {
	return offerRegistry.abi.Pack("getProviderOffers", provider, start, limit)
}

// UnpackGetProviderOffers is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xba79837d.
//
// Solidity: function getProviderOffers(address provider, uint256 start, uint256 limit) view returns((uint256,address,bool,uint64,string,string,address,uint256,uint256,uint256,uint64,string)[] page)
func (offerRegistry *OfferRegistry) UnpackGetProviderOffers(data []byte) ([]OfferRegistryOffer, error) {
	out, err := offerRegistry.abi.Unpack("getProviderOffers", data)
	if err != nil {
		return *new([]OfferRegistryOffer), err
	}
	out0 := *abi.ConvertType(out[0], new([]OfferRegistryOffer)).(*[]OfferRegistryOffer)
	return out0, nil
}

// PackOfferCount is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x1115c24d.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function offerCount() view returns(uint256)
func (offerRegistry *OfferRegistry) PackOfferCount() []byte {
	enc, err := offerRegistry.abi.Pack("offerCount")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackOfferCount is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x1115c24d.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function offerCount() view returns(uint256)
func (offerRegistry *OfferRegistry) TryPackOfferCount() ([]byte, error) {
	return offerRegistry.abi.Pack("offerCount")
}

// UnpackOfferCount is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x1115c24d.
//
// Solidity: function offerCount() view returns(uint256)
func (offerRegistry *OfferRegistry) UnpackOfferCount(data []byte) (*big.Int, error) {
	out, err := offerRegistry.abi.Unpack("offerCount", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackProviderOfferCount is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa318bab0.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function providerOfferCount(address provider) view returns(uint256)
func (offerRegistry *OfferRegistry) PackProviderOfferCount(provider common.Address) []byte {
	enc, err := offerRegistry.abi.Pack("providerOfferCount", provider)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackProviderOfferCount is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa318bab0.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function providerOfferCount(address provider) view returns(uint256)
func (offerRegistry *OfferRegistry) TryPackProviderOfferCount(provider common.Address) ([]byte, error) {
	return offerRegistry.abi.Pack("providerOfferCount", provider)
}

// UnpackProviderOfferCount is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xa318bab0.
//
// Solidity: function providerOfferCount(address provider) view returns(uint256)
func (offerRegistry *OfferRegistry) UnpackProviderOfferCount(data []byte) (*big.Int, error) {
	out, err := offerRegistry.abi.Unpack("providerOfferCount", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackRegister is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xd124dd4c.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function register((string,string,address,uint256,uint256,uint256,uint64,string) input) returns(uint256 id)
func (offerRegistry *OfferRegistry) PackRegister(input OfferRegistryOfferInput) []byte {
	enc, err := offerRegistry.abi.Pack("register", input)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackRegister is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xd124dd4c.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function register((string,string,address,uint256,uint256,uint256,uint64,string) input) returns(uint256 id)
func (offerRegistry *OfferRegistry) TryPackRegister(input OfferRegistryOfferInput) ([]byte, error) {
	return offerRegistry.abi.Pack("register", input)
}

// UnpackRegister is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xd124dd4c.
//
// Solidity: function register((string,string,address,uint256,uint256,uint256,uint64,string) input) returns(uint256 id)
func (offerRegistry *OfferRegistry) UnpackRegister(data []byte) (*big.Int, error) {
	out, err := offerRegistry.abi.Unpack("register", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackUpdate is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x7484b2d5.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function update(uint256 id, (string,string,address,uint256,uint256,uint256,uint64,string) input) returns()
func (offerRegistry *OfferRegistry) PackUpdate(id *big.Int, input OfferRegistryOfferInput) []byte {
	enc, err := offerRegistry.abi.Pack("update", id, input)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackUpdate is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x7484b2d5.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function update(uint256 id, (string,string,address,uint256,uint256,uint256,uint64,string) input) returns()
func (offerRegistry *OfferRegistry) TryPackUpdate(id *big.Int, input OfferRegistryOfferInput) ([]byte, error) {
	return offerRegistry.abi.Pack("update", id, input)
}

// OfferRegistryOfferDeactivated represents a OfferDeactivated event raised by the OfferRegistry contract.
type OfferRegistryOfferDeactivated struct {
	Id       *big.Int
	Provider common.Address
	Raw      *types.Log // Blockchain specific contextual infos
}

const OfferRegistryOfferDeactivatedEventName = "OfferDeactivated"

// ContractEventName returns the user-defined event name.
func (OfferRegistryOfferDeactivated) ContractEventName() string {
	return OfferRegistryOfferDeactivatedEventName
}

// UnpackOfferDeactivatedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event OfferDeactivated(uint256 indexed id, address indexed provider)
func (offerRegistry *OfferRegistry) UnpackOfferDeactivatedEvent(log *types.Log) (*OfferRegistryOfferDeactivated, error) {
	event := "OfferDeactivated"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != offerRegistry.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(OfferRegistryOfferDeactivated)
	if len(log.Data) > 0 {
		if err := offerRegistry.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range offerRegistry.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// OfferRegistryOfferRegistered represents a OfferRegistered event raised by the OfferRegistry contract.
type OfferRegistryOfferRegistered struct {
	Id       *big.Int
	Provider common.Address
	Model    string
	Asset    common.Address
	Base     *big.Int
	InPerM   *big.Int
	OutPerM  *big.Int
	Raw      *types.Log // Blockchain specific contextual infos
}

const OfferRegistryOfferRegisteredEventName = "OfferRegistered"

// ContractEventName returns the user-defined event name.
func (OfferRegistryOfferRegistered) ContractEventName() string {
	return OfferRegistryOfferRegisteredEventName
}

// UnpackOfferRegisteredEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event OfferRegistered(uint256 indexed id, address indexed provider, string model, address asset, uint256 base, uint256 inPerM, uint256 outPerM)
func (offerRegistry *OfferRegistry) UnpackOfferRegisteredEvent(log *types.Log) (*OfferRegistryOfferRegistered, error) {
	event := "OfferRegistered"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != offerRegistry.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(OfferRegistryOfferRegistered)
	if len(log.Data) > 0 {
		if err := offerRegistry.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range offerRegistry.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// OfferRegistryOfferUpdated represents a OfferUpdated event raised by the OfferRegistry contract.
type OfferRegistryOfferUpdated struct {
	Id       *big.Int
	Provider common.Address
	Model    string
	Asset    common.Address
	Base     *big.Int
	InPerM   *big.Int
	OutPerM  *big.Int
	Raw      *types.Log // Blockchain specific contextual infos
}

const OfferRegistryOfferUpdatedEventName = "OfferUpdated"

// ContractEventName returns the user-defined event name.
func (OfferRegistryOfferUpdated) ContractEventName() string {
	return OfferRegistryOfferUpdatedEventName
}

// UnpackOfferUpdatedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event OfferUpdated(uint256 indexed id, address indexed provider, string model, address asset, uint256 base, uint256 inPerM, uint256 outPerM)
func (offerRegistry *OfferRegistry) UnpackOfferUpdatedEvent(log *types.Log) (*OfferRegistryOfferUpdated, error) {
	event := "OfferUpdated"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != offerRegistry.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(OfferRegistryOfferUpdated)
	if len(log.Data) > 0 {
		if err := offerRegistry.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range offerRegistry.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// UnpackError attempts to decode the provided error data using user-defined
// error definitions.
func (offerRegistry *OfferRegistry) UnpackError(raw []byte) (any, error) {
	if bytes.Equal(raw[:4], offerRegistry.abi.Errors["EmptyEndpoint"].ID.Bytes()[:4]) {
		return offerRegistry.UnpackEmptyEndpointError(raw[4:])
	}
	if bytes.Equal(raw[:4], offerRegistry.abi.Errors["EmptyModel"].ID.Bytes()[:4]) {
		return offerRegistry.UnpackEmptyModelError(raw[4:])
	}
	if bytes.Equal(raw[:4], offerRegistry.abi.Errors["NotOfferProvider"].ID.Bytes()[:4]) {
		return offerRegistry.UnpackNotOfferProviderError(raw[4:])
	}
	if bytes.Equal(raw[:4], offerRegistry.abi.Errors["OfferInactive"].ID.Bytes()[:4]) {
		return offerRegistry.UnpackOfferInactiveError(raw[4:])
	}
	if bytes.Equal(raw[:4], offerRegistry.abi.Errors["UnknownOffer"].ID.Bytes()[:4]) {
		return offerRegistry.UnpackUnknownOfferError(raw[4:])
	}
	if bytes.Equal(raw[:4], offerRegistry.abi.Errors["ZeroMaxTokens"].ID.Bytes()[:4]) {
		return offerRegistry.UnpackZeroMaxTokensError(raw[4:])
	}
	return nil, errors.New("Unknown error")
}

// OfferRegistryEmptyEndpoint represents a EmptyEndpoint error raised by the OfferRegistry contract.
type OfferRegistryEmptyEndpoint struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error EmptyEndpoint()
func OfferRegistryEmptyEndpointErrorID() common.Hash {
	return common.HexToHash("0x885062b4124923c24341625f393990c96d5ec5acfd741cdac55cfd39b8ae9603")
}

// UnpackEmptyEndpointError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error EmptyEndpoint()
func (offerRegistry *OfferRegistry) UnpackEmptyEndpointError(raw []byte) (*OfferRegistryEmptyEndpoint, error) {
	out := new(OfferRegistryEmptyEndpoint)
	if err := offerRegistry.abi.UnpackIntoInterface(out, "EmptyEndpoint", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// OfferRegistryEmptyModel represents a EmptyModel error raised by the OfferRegistry contract.
type OfferRegistryEmptyModel struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error EmptyModel()
func OfferRegistryEmptyModelErrorID() common.Hash {
	return common.HexToHash("0x5fa8f2f27e04e9a3ffa9e60a9fdf9de626e0bd762ce1f7f7ca411a4f926270b1")
}

// UnpackEmptyModelError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error EmptyModel()
func (offerRegistry *OfferRegistry) UnpackEmptyModelError(raw []byte) (*OfferRegistryEmptyModel, error) {
	out := new(OfferRegistryEmptyModel)
	if err := offerRegistry.abi.UnpackIntoInterface(out, "EmptyModel", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// OfferRegistryNotOfferProvider represents a NotOfferProvider error raised by the OfferRegistry contract.
type OfferRegistryNotOfferProvider struct {
	Id *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error NotOfferProvider(uint256 id)
func OfferRegistryNotOfferProviderErrorID() common.Hash {
	return common.HexToHash("0x96efb006501096b25b34efc4ba73a5c8866756aa33563fec8709637342bef78d")
}

// UnpackNotOfferProviderError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error NotOfferProvider(uint256 id)
func (offerRegistry *OfferRegistry) UnpackNotOfferProviderError(raw []byte) (*OfferRegistryNotOfferProvider, error) {
	out := new(OfferRegistryNotOfferProvider)
	if err := offerRegistry.abi.UnpackIntoInterface(out, "NotOfferProvider", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// OfferRegistryOfferInactive represents a OfferInactive error raised by the OfferRegistry contract.
type OfferRegistryOfferInactive struct {
	Id *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error OfferInactive(uint256 id)
func OfferRegistryOfferInactiveErrorID() common.Hash {
	return common.HexToHash("0xd2cfbedab0d3a5693ec359553f2441a09db0451db9930d47ac702b6e7d3509f8")
}

// UnpackOfferInactiveError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error OfferInactive(uint256 id)
func (offerRegistry *OfferRegistry) UnpackOfferInactiveError(raw []byte) (*OfferRegistryOfferInactive, error) {
	out := new(OfferRegistryOfferInactive)
	if err := offerRegistry.abi.UnpackIntoInterface(out, "OfferInactive", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// OfferRegistryUnknownOffer represents a UnknownOffer error raised by the OfferRegistry contract.
type OfferRegistryUnknownOffer struct {
	Id *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error UnknownOffer(uint256 id)
func OfferRegistryUnknownOfferErrorID() common.Hash {
	return common.HexToHash("0x1021ae22324aa2526ea0b28ed361c958b5d0b45fe2040712bb76b225a4537cfb")
}

// UnpackUnknownOfferError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error UnknownOffer(uint256 id)
func (offerRegistry *OfferRegistry) UnpackUnknownOfferError(raw []byte) (*OfferRegistryUnknownOffer, error) {
	out := new(OfferRegistryUnknownOffer)
	if err := offerRegistry.abi.UnpackIntoInterface(out, "UnknownOffer", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// OfferRegistryZeroMaxTokens represents a ZeroMaxTokens error raised by the OfferRegistry contract.
type OfferRegistryZeroMaxTokens struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ZeroMaxTokens()
func OfferRegistryZeroMaxTokensErrorID() common.Hash {
	return common.HexToHash("0xba44d6c82deb750f8e6f9a5b160465adab4ebb5af97741f84b352b6882c7e647")
}

// UnpackZeroMaxTokensError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ZeroMaxTokens()
func (offerRegistry *OfferRegistry) UnpackZeroMaxTokensError(raw []byte) (*OfferRegistryZeroMaxTokens, error) {
	out := new(OfferRegistryZeroMaxTokens)
	if err := offerRegistry.abi.UnpackIntoInterface(out, "ZeroMaxTokens", raw); err != nil {
		return nil, err
	}
	return out, nil
}
