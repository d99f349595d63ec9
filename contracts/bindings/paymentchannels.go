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

// PaymentChannelsChannel is an auto generated low-level Go binding around an user-defined struct.
type PaymentChannelsChannel struct {
	Signer         common.Address
	WithdrawableAt uint64
	Closed         bool
	Provider       common.Address
	Asset          common.Address
	Payer          common.Address
	Deposit        *big.Int
	Claimed        *big.Int
}

// PaymentChannelsClaim is an auto generated low-level Go binding around an user-defined struct.
type PaymentChannelsClaim struct {
	ChannelId     [32]byte
	VoucherAmount *big.Int
	Amount        *big.Int
	ReceiptsRoot  [32]byte
	R             [32]byte
	Vs            [32]byte
}

// PaymentChannelsMetaData contains all meta data concerning the PaymentChannels contract.
var PaymentChannelsMetaData = bind.MetaData{
	ABI: "[{\"type\":\"constructor\",\"inputs\":[{\"name\":\"withdrawalDelay_\",\"type\":\"uint64\",\"internalType\":\"uint64\"}],\"stateMutability\":\"nonpayable\"},{\"type\":\"function\",\"name\":\"NATIVE\",\"inputs\":[],\"outputs\":[{\"name\":\"\",\"type\":\"address\",\"internalType\":\"address\"}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"RECEIPT_TYPEHASH\",\"inputs\":[],\"outputs\":[{\"name\":\"\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"VOUCHER_TYPEHASH\",\"inputs\":[],\"outputs\":[{\"name\":\"\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"channelId\",\"inputs\":[{\"name\":\"payer\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"provider\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"signer\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"asset\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"salt\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}],\"outputs\":[{\"name\":\"\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}],\"stateMutability\":\"pure\"},{\"type\":\"function\",\"name\":\"claimMany\",\"inputs\":[{\"name\":\"claims\",\"type\":\"tuple[]\",\"internalType\":\"structPaymentChannels.Claim[]\",\"components\":[{\"name\":\"channelId\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"},{\"name\":\"voucherAmount\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"amount\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"receiptsRoot\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"},{\"name\":\"r\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"},{\"name\":\"vs\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}]}],\"outputs\":[],\"stateMutability\":\"nonpayable\"},{\"type\":\"function\",\"name\":\"domainSeparator\",\"inputs\":[],\"outputs\":[{\"name\":\"\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"eip712Domain\",\"inputs\":[],\"outputs\":[{\"name\":\"fields\",\"type\":\"bytes1\",\"internalType\":\"bytes1\"},{\"name\":\"name\",\"type\":\"string\",\"internalType\":\"string\"},{\"name\":\"version\",\"type\":\"string\",\"internalType\":\"string\"},{\"name\":\"chainId\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"verifyingContract\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"salt\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"},{\"name\":\"extensions\",\"type\":\"uint256[]\",\"internalType\":\"uint256[]\"}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"finalizeWithdrawal\",\"inputs\":[{\"name\":\"id\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}],\"outputs\":[],\"stateMutability\":\"nonpayable\"},{\"type\":\"function\",\"name\":\"getChannel\",\"inputs\":[{\"name\":\"id\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}],\"outputs\":[{\"name\":\"\",\"type\":\"tuple\",\"internalType\":\"structPaymentChannels.Channel\",\"components\":[{\"name\":\"signer\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"withdrawableAt\",\"type\":\"uint64\",\"internalType\":\"uint64\"},{\"name\":\"closed\",\"type\":\"bool\",\"internalType\":\"bool\"},{\"name\":\"provider\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"asset\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"payer\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"deposit\",\"type\":\"uint128\",\"internalType\":\"uint128\"},{\"name\":\"claimed\",\"type\":\"uint128\",\"internalType\":\"uint128\"}]}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"hashReceipt\",\"inputs\":[{\"name\":\"id\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"},{\"name\":\"jobId\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"},{\"name\":\"cost\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"cumulativeCharged\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"inputTokens\",\"type\":\"uint64\",\"internalType\":\"uint64\"},{\"name\":\"outputTokens\",\"type\":\"uint64\",\"internalType\":\"uint64\"},{\"name\":\"resultHash\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}],\"outputs\":[{\"name\":\"\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"hashReceiptStruct\",\"inputs\":[{\"name\":\"id\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"},{\"name\":\"jobId\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"},{\"name\":\"cost\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"cumulativeCharged\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"inputTokens\",\"type\":\"uint64\",\"internalType\":\"uint64\"},{\"name\":\"outputTokens\",\"type\":\"uint64\",\"internalType\":\"uint64\"},{\"name\":\"resultHash\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}],\"outputs\":[{\"name\":\"\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}],\"stateMutability\":\"pure\"},{\"type\":\"function\",\"name\":\"hashVoucher\",\"inputs\":[{\"name\":\"id\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"},{\"name\":\"cumulativeAmount\",\"type\":\"uint256\",\"internalType\":\"uint256\"}],\"outputs\":[{\"name\":\"\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"open\",\"inputs\":[{\"name\":\"provider\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"signer\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"asset\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"amount\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"salt\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}],\"outputs\":[{\"name\":\"id\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}],\"stateMutability\":\"payable\"},{\"type\":\"function\",\"name\":\"openWithPermit\",\"inputs\":[{\"name\":\"provider\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"signer\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"token\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"amount\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"salt\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"},{\"name\":\"deadline\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"v\",\"type\":\"uint8\",\"internalType\":\"uint8\"},{\"name\":\"r\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"},{\"name\":\"s\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}],\"outputs\":[{\"name\":\"id\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}],\"stateMutability\":\"nonpayable\"},{\"type\":\"function\",\"name\":\"requestWithdrawal\",\"inputs\":[{\"name\":\"id\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}],\"outputs\":[],\"stateMutability\":\"nonpayable\"},{\"type\":\"function\",\"name\":\"topUp\",\"inputs\":[{\"name\":\"id\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"},{\"name\":\"amount\",\"type\":\"uint256\",\"internalType\":\"uint256\"}],\"outputs\":[],\"stateMutability\":\"payable\"},{\"type\":\"function\",\"name\":\"withdrawalDelay\",\"inputs\":[],\"outputs\":[{\"name\":\"\",\"type\":\"uint64\",\"internalType\":\"uint64\"}],\"stateMutability\":\"view\"},{\"type\":\"event\",\"name\":\"ChannelOpened\",\"inputs\":[{\"name\":\"channelId\",\"type\":\"bytes32\",\"indexed\":true,\"internalType\":\"bytes32\"},{\"name\":\"payer\",\"type\":\"address\",\"indexed\":true,\"internalType\":\"address\"},{\"name\":\"provider\",\"type\":\"address\",\"indexed\":true,\"internalType\":\"address\"},{\"name\":\"signer\",\"type\":\"address\",\"indexed\":false,\"internalType\":\"address\"},{\"name\":\"asset\",\"type\":\"address\",\"indexed\":false,\"internalType\":\"address\"},{\"name\":\"deposit\",\"type\":\"uint256\",\"indexed\":false,\"internalType\":\"uint256\"}],\"anonymous\":false},{\"type\":\"event\",\"name\":\"ChannelToppedUp\",\"inputs\":[{\"name\":\"channelId\",\"type\":\"bytes32\",\"indexed\":true,\"internalType\":\"bytes32\"},{\"name\":\"amount\",\"type\":\"uint256\",\"indexed\":false,\"internalType\":\"uint256\"},{\"name\":\"deposit\",\"type\":\"uint256\",\"indexed\":false,\"internalType\":\"uint256\"}],\"anonymous\":false},{\"type\":\"event\",\"name\":\"Claimed\",\"inputs\":[{\"name\":\"channelId\",\"type\":\"bytes32\",\"indexed\":true,\"internalType\":\"bytes32\"},{\"name\":\"provider\",\"type\":\"address\",\"indexed\":true,\"internalType\":\"address\"},{\"name\":\"amount\",\"type\":\"uint256\",\"indexed\":false,\"internalType\":\"uint256\"},{\"name\":\"totalClaimed\",\"type\":\"uint256\",\"indexed\":false,\"internalType\":\"uint256\"},{\"name\":\"voucherAmount\",\"type\":\"uint256\",\"indexed\":false,\"internalType\":\"uint256\"},{\"name\":\"receiptsRoot\",\"type\":\"bytes32\",\"indexed\":false,\"internalType\":\"bytes32\"}],\"anonymous\":false},{\"type\":\"event\",\"name\":\"EIP712DomainChanged\",\"inputs\":[],\"anonymous\":false},{\"type\":\"event\",\"name\":\"WithdrawalRequested\",\"inputs\":[{\"name\":\"channelId\",\"type\":\"bytes32\",\"indexed\":true,\"internalType\":\"bytes32\"},{\"name\":\"withdrawableAt\",\"type\":\"uint64\",\"indexed\":false,\"internalType\":\"uint64\"}],\"anonymous\":false},{\"type\":\"event\",\"name\":\"Withdrawn\",\"inputs\":[{\"name\":\"channelId\",\"type\":\"bytes32\",\"indexed\":true,\"internalType\":\"bytes32\"},{\"name\":\"payer\",\"type\":\"address\",\"indexed\":true,\"internalType\":\"address\"},{\"name\":\"refund\",\"type\":\"uint256\",\"indexed\":false,\"internalType\":\"uint256\"}],\"anonymous\":false},{\"type\":\"error\",\"name\":\"AmountTooLarge\",\"inputs\":[]},{\"type\":\"error\",\"name\":\"ChannelClosed\",\"inputs\":[{\"name\":\"channelId\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}]},{\"type\":\"error\",\"name\":\"ChannelExists\",\"inputs\":[{\"name\":\"channelId\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}]},{\"type\":\"error\",\"name\":\"ClaimAboveDeposit\",\"inputs\":[{\"name\":\"channelId\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"},{\"name\":\"amount\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"deposit\",\"type\":\"uint256\",\"internalType\":\"uint256\"}]},{\"type\":\"error\",\"name\":\"ClaimAboveVoucher\",\"inputs\":[{\"name\":\"channelId\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"},{\"name\":\"amount\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"voucherAmount\",\"type\":\"uint256\",\"internalType\":\"uint256\"}]},{\"type\":\"error\",\"name\":\"ClaimNotIncreasing\",\"inputs\":[{\"name\":\"channelId\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"},{\"name\":\"amount\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"claimed\",\"type\":\"uint256\",\"internalType\":\"uint256\"}]},{\"type\":\"error\",\"name\":\"EmptyBatch\",\"inputs\":[]},{\"type\":\"error\",\"name\":\"InvalidShortString\",\"inputs\":[]},{\"type\":\"error\",\"name\":\"InvalidSignature\",\"inputs\":[{\"name\":\"channelId\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}]},{\"type\":\"error\",\"name\":\"NotPayer\",\"inputs\":[{\"name\":\"channelId\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}]},{\"type\":\"error\",\"name\":\"NotProvider\",\"inputs\":[{\"name\":\"channelId\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}]},{\"type\":\"error\",\"name\":\"ReentrancyGuardReentrantCall\",\"inputs\":[]},{\"type\":\"error\",\"name\":\"SafeERC20FailedOperation\",\"inputs\":[{\"name\":\"token\",\"type\":\"address\",\"internalType\":\"address\"}]},{\"type\":\"error\",\"name\":\"StringTooLong\",\"inputs\":[{\"name\":\"str\",\"type\":\"string\",\"internalType\":\"string\"}]},{\"type\":\"error\",\"name\":\"TransferFailed\",\"inputs\":[]},{\"type\":\"error\",\"name\":\"UnknownChannel\",\"inputs\":[{\"name\":\"channelId\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}]},{\"type\":\"error\",\"name\":\"WithdrawalNotRequested\",\"inputs\":[{\"name\":\"channelId\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}]},{\"type\":\"error\",\"name\":\"WithdrawalPending\",\"inputs\":[{\"name\":\"channelId\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}]},{\"type\":\"error\",\"name\":\"WithdrawalTooEarly\",\"inputs\":[{\"name\":\"channelId\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"},{\"name\":\"withdrawableAt\",\"type\":\"uint64\",\"internalType\":\"uint64\"}]},{\"type\":\"error\",\"name\":\"WrongValue\",\"inputs\":[]},{\"type\":\"error\",\"name\":\"ZeroAddress\",\"inputs\":[]},{\"type\":\"error\",\"name\":\"ZeroAmount\",\"inputs\":[]}]",
	ID:  "PaymentChannels",
	Bin: "0x610180604052348015610010575f5ffd5b50604051612ba0380380612ba083398101604081905261002f916101a3565b60408051808201825260078152667061796e6f646560c81b602080830191909152825180840190935260018352603160f81b9083015290610070825f61012b565b6101205261007f81600161012b565b61014052815160208084019190912060e052815190820120610100524660a05261010b60e05161010051604080517f8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f60208201529081019290925260608201524660808201523060a08201525f9060c00160405160208183030381529060405280519060200120905090565b60805250503060c05260016002556001600160401b03166101605261037a565b5f6020835110156101465761013f8361015d565b9050610157565b816101518482610268565b5060ff90505b92915050565b5f5f829050601f81511115610190578260405163305a27a960e01b81526004016101879190610322565b60405180910390fd5b805161019b82610357565b179392505050565b5f602082840312156101b3575f5ffd5b81516001600160401b03811681146101c9575f5ffd5b9392505050565b634e487b7160e01b5f52604160045260245ffd5b600181811c908216806101f857607f821691505b60208210810361021657634e487b7160e01b5f52602260045260245ffd5b50919050565b601f82111561026357805f5260205f20601f840160051c810160208510156102415750805b601f840160051c820191505b81811015610260575f815560010161024d565b50505b505050565b81516001600160401b03811115610281576102816101d0565b6102958161028f84546101e4565b8461021c565b6020601f8211600181146102c7575f83156102b05750848201515b5f19600385901b1c1916600184901b178455610260565b5f84815260208120601f198516915b828110156102f657878501518255602094850194600190920191016102d6565b508482101561031357868401515f19600387901b60f8161c191681555b50505050600190811b01905550565b602081525f82518060208401528060208501604085015e5f604082850101526040601f19601f83011684010191505092915050565b80516020808301519190811015610216575f1960209190910360031b1b16919050565b60805160a05160c05160e051610100516101205161014051610160516127c46103dc5f395f81816105110152610c7801525f611c3101525f611c0501525f611dcf01525f611da701525f611d0201525f611d2c01525f611d5601526127c45ff3fe608060405260043610610109575f3560e01c806395850f59116100a1578063a0cf0aea11610071578063b67644b911610057578063b67644b91461054c578063d2d242c21461055f578063f698da251461057e575f5ffd5b8063a0cf0aea146104c8578063a7ab696114610500575f5ffd5b806395850f59146103de5780639d07ec87146104115780639d34e90c1461048a5780639f00c4cb146104a9575f5ffd5b8063831c2b82116100dc578063831c2b821461021557806384b0196e14610365578063902f5c511461038c57806394739e87146103ab575f5ffd5b806310dce4261461010d57806322cccfc71461012e57806355d5a8401461015457806359d89ad4146101f6575b5f5ffd5b348015610118575f5ffd5b5061012c61012736600461219e565b610592565b005b61014161013c3660046121dd565b610868565b6040519081526020015b60405180910390f35b34801561015f575f5ffd5b5061014161016e366004612245565b604080517f817e24cb98106a5e141b84bb129e022a130a7b356e7f9cfac28afa4632bd0e93602080830191909152818301999099526060810197909752608087019590955260a086019390935267ffffffffffffffff91821660c08601521660e084015261010080840191909152815180840390910181526101209092019052805191012090565b348015610201575f5ffd5b506101416102103660046122a6565b61090b565b348015610220575f5ffd5b5061035861022f36600461219e565b60408051610100810182525f80825260208201819052918101829052606081018290526080810182905260a0810182905260c0810182905260e0810191909152505f90815260036020818152604092839020835161010081018552815473ffffffffffffffffffffffffffffffffffffffff808216835274010000000000000000000000000000000000000000820467ffffffffffffffff16948301949094527c0100000000000000000000000000000000000000000000000000000000900460ff16151594810194909452600181015482166060850152600281015482166080850152918201541660a0830152600401546fffffffffffffffffffffffffffffffff80821660c08401527001000000000000000000000000000000009091041660e082015290565b60405161014b919061232f565b348015610370575f5ffd5b50610379610aa0565b60405161014b9796959493929190612483565b348015610397575f5ffd5b5061012c6103a636600461219e565b610afe565b3480156103b6575f5ffd5b506101417f5e172d4a19b08b5b7f0354399a080f05a28476f34f987f7cd87e69a4065d4ec081565b3480156103e9575f5ffd5b506101417f817e24cb98106a5e141b84bb129e022a130a7b356e7f9cfac28afa4632bd0e9381565b34801561041c575f5ffd5b5061014161042b366004612542565b6040805173ffffffffffffffffffffffffffffffffffffffff96871660208083019190915295871681830152938616606085015291909416608083015260a0808301949094528051808303909401845260c09091019052815191012090565b348015610495575f5ffd5b506101416104a436600461259a565b610d28565b3480156104b4575f5ffd5b506101416104c3366004612245565b610d8d565b3480156104d3575f5ffd5b506104db5f81565b60405173ffffffffffffffffffffffffffffffffffffffff909116815260200161014b565b34801561050b575f5ffd5b506105337f000000000000000000000000000000000000000000000000000000000000000081565b60405167ffffffffffffffff909116815260200161014b565b61012c61055a36600461259a565b610e26565b34801561056a575f5ffd5b5061012c6105793660046125ba565b610fe1565b348015610589575f5ffd5b50610141611610565b61059a61161e565b5f818152600360205260409020600181015473ffffffffffffffffffffffffffffffffffffffff16610600576040517fb08fc1cb000000000000000000000000000000000000000000000000000000008152600481018390526024015b60405180910390fd5b600381015473ffffffffffffffffffffffffffffffffffffffff163314610656576040517f7be76efb000000000000000000000000000000000000000000000000000000008152600481018390526024016105f7565b80547c0100000000000000000000000000000000000000000000000000000000900460ff16156106b5576040517fceeab2ee000000000000000000000000000000000000000000000000000000008152600481018390526024016105f7565b805474010000000000000000000000000000000000000000900467ffffffffffffffff165f819003610716576040517f4005b5af000000000000000000000000000000000000000000000000000000008152600481018490526024016105f7565b8067ffffffffffffffff1642101561076d576040517fb0510f080000000000000000000000000000000000000000000000000000000081526004810184905267ffffffffffffffff821660248201526044016105f7565b60048201545f906107a6906fffffffffffffffffffffffffffffffff700100000000000000000000000000000000820481169116612658565b83547fffffff00ffffffffffffffffffffffffffffffffffffffffffffffffffffffff167c0100000000000000000000000000000000000000000000000000000000178455604051909150339085907f04eda370f8b8612fa7266d7ebbd41af9d694e19793fe9d9ff31b3ddbd99b08e1906108249085815260200190565b60405180910390a380156108585760028301546108589073ffffffffffffffffffffffffffffffffffffffff16338361165f565b5050506108656001600255565b50565b5f61087161161e565b61087d8686868561173c565b90505f61088a85856118e2565b90506108968282611b38565b6040805173ffffffffffffffffffffffffffffffffffffffff8881168252878116602083015291810183905290881690339084907f4516edb7b2ea29d92a0dbb5ff857203558b677157f4115d582b66e07b90ac8a89060600160405180910390a4506109026001600255565b95945050505050565b5f61091461161e565b73ffffffffffffffffffffffffffffffffffffffff8816610961576040517fd92e233d00000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b6040517fd505accf000000000000000000000000000000000000000000000000000000008152336004820152306024820152604481018890526064810186905260ff8516608482015260a4810184905260c4810183905273ffffffffffffffffffffffffffffffffffffffff89169063d505accf9060e4015f604051808303815f87803b1580156109f0575f5ffd5b505af1925050508015610a01575060015b50610a0e8a8a8a8961173c565b90505f610a1b89896118e2565b9050610a278282611b38565b6040805173ffffffffffffffffffffffffffffffffffffffff8c811682528b81166020830152918101839052908c1690339084907f4516edb7b2ea29d92a0dbb5ff857203558b677157f4115d582b66e07b90ac8a89060600160405180910390a450610a936001600255565b9998505050505050505050565b5f6060805f5f5f6060610ab1611bfe565b610ab9611c2a565b604080515f808252602082019092527f0f000000000000000000000000000000000000000000000000000000000000009b939a50919850469750309650945092509050565b5f818152600360205260409020600181015473ffffffffffffffffffffffffffffffffffffffff16610b5f576040517fb08fc1cb000000000000000000000000000000000000000000000000000000008152600481018390526024016105f7565b600381015473ffffffffffffffffffffffffffffffffffffffff163314610bb5576040517f7be76efb000000000000000000000000000000000000000000000000000000008152600481018390526024016105f7565b80547c0100000000000000000000000000000000000000000000000000000000900460ff1615610c14576040517fceeab2ee000000000000000000000000000000000000000000000000000000008152600481018390526024016105f7565b805474010000000000000000000000000000000000000000900467ffffffffffffffff1615610c72576040517f0ded44be000000000000000000000000000000000000000000000000000000008152600481018390526024016105f7565b5f610c9d7f000000000000000000000000000000000000000000000000000000000000000042612698565b82547fffffffff0000000000000000ffffffffffffffffffffffffffffffffffffffff167401000000000000000000000000000000000000000067ffffffffffffffff831690810291909117845560405190815290915083907f8b2737bb64ab2f2dc09552dfa1c250399e6a42c7ea9f0e1c658f5d65d708ec059060200160405180910390a2505050565b604080517f5e172d4a19b08b5b7f0354399a080f05a28476f34f987f7cd87e69a4065d4ec06020820152908101839052606081018290525f90610d84906080015b60405160208183030381529060405280519060200120611c57565b90505b92915050565b604080517f817e24cb98106a5e141b84bb129e022a130a7b356e7f9cfac28afa4632bd0e936020808301919091528183018a9052606082018990526080820188905260a0820187905267ffffffffffffffff80871660c0840152851660e08301526101008083018590528351808403909101815261012090920190925280519101205f90610e1a90611c57565b98975050505050505050565b610e2e61161e565b5f828152600360205260409020600181015473ffffffffffffffffffffffffffffffffffffffff16610e8f576040517fb08fc1cb000000000000000000000000000000000000000000000000000000008152600481018490526024016105f7565b80547c0100000000000000000000000000000000000000000000000000000000900460ff1615610eee576040517fceeab2ee000000000000000000000000000000000000000000000000000000008152600481018490526024016105f7565b805474010000000000000000000000000000000000000000900467ffffffffffffffff1615610f4c576040517f0ded44be000000000000000000000000000000000000000000000000000000008152600481018490526024016105f7565b60028101545f90610f739073ffffffffffffffffffffffffffffffffffffffff16846118e2565b9050610f7f8482611b38565b6004820154604080518381526fffffffffffffffffffffffffffffffff909216602083015285917f9cccb87b8f66309aa4e78924a7f8bbe8cb5ddd377aa929dd7a622132781856aa910160405180910390a25050610fdd6001600255565b5050565b610fe961161e565b805f819003611024576040517fc2e5347d00000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b5f8167ffffffffffffffff81111561103e5761103e61266b565b604051908082528060200260200182016040528015611067578160200160208202803683370190505b5090505f8267ffffffffffffffff8111156110845761108461266b565b6040519080825280602002602001820160405280156110ad578160200160208202803683370190505b5090505f5f5b848110156115b157368787838181106110ce576110ce6126b8565b60c0029190910180355f9081526003602052604090206001810154919350915073ffffffffffffffffffffffffffffffffffffffff16331461119357600181015473ffffffffffffffffffffffffffffffffffffffff1661115e576040517fb08fc1cb000000000000000000000000000000000000000000000000000000008152823560048201526024016105f7565b6040517fc9126aae000000000000000000000000000000000000000000000000000000008152823560048201526024016105f7565b80547c0100000000000000000000000000000000000000000000000000000000900460ff16156111f2576040517fceeab2ee000000000000000000000000000000000000000000000000000000008152823560048201526024016105f7565b60048101546fffffffffffffffffffffffffffffffff7001000000000000000000000000000000008204811691166040840135821061127157604080517f7bff822800000000000000000000000000000000000000000000000000000000815285356004820152908501356024820152604481018390526064016105f7565b8360200135846040013511156112ca57604080517f4fb5eedf00000000000000000000000000000000000000000000000000000000815285356004820152908501356024820152602085013560448201526064016105f7565b808460400135111561131c57604080517fa323a7b000000000000000000000000000000000000000000000000000000000815285356004820152908501356024820152604481018290526064016105f7565b604080517f5e172d4a19b08b5b7f0354399a080f05a28476f34f987f7cd87e69a4065d4ec06020828101919091528635928201929092529085013560608201525f9061136a90608001610d69565b90505f5f6113818388608001358960a00135611c9e565b5090925090505f81600381111561139a5761139a6126e5565b1415806113c15750855473ffffffffffffffffffffffffffffffffffffffff838116911614155b156113fb576040517f666b7cba000000000000000000000000000000000000000000000000000000008152873560048201526024016105f7565b5f61140a8660408a0135612658565b6004880180546fffffffffffffffffffffffffffffffff6040808d01358281167001000000000000000000000000000000000292909316919091179092558151838152602081810192909252908b0135918101919091526060808b01359082015290915033908935907fa46906d4fb0ef1ec23339e28270fc70aca8ebdb12c95171ff0bf4c8e114507a99060800160405180910390a3600287015473ffffffffffffffffffffffffffffffffffffffff165f5b8b8110801561151157508173ffffffffffffffffffffffffffffffffffffffff168e82815181106114f0576114f06126b8565b602002602001015173ffffffffffffffffffffffffffffffffffffffff1614155b156115265761151f81612712565b90506114bd565b8b810361157157818e8281518110611540576115406126b8565b73ffffffffffffffffffffffffffffffffffffffff9092166020928302919091019091015261156e8c612712565b9b505b828d8281518110611584576115846126b8565b602002602001018181516115989190612749565b90525050600190990198506110b3975050505050505050565b505f5b81811015611601576115f98482815181106115d1576115d16126b8565b6020026020010151338584815181106115ec576115ec6126b8565b602002602001015161165f565b6001016115b4565b5050505050610fdd6001600255565b5f611619611ce9565b905090565b6002805403611659576040517f3ee5aeb500000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b60028055565b73ffffffffffffffffffffffffffffffffffffffff8316611716575f8273ffffffffffffffffffffffffffffffffffffffff16826040515f6040518083038185875af1925050503d805f81146116d0576040519150601f19603f3d011682016040523d82523d5f602084013e6116d5565b606091505b5050905080611710576040517f90b8ec1800000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b50505050565b61173773ffffffffffffffffffffffffffffffffffffffff84168383611e1f565b505050565b5f73ffffffffffffffffffffffffffffffffffffffff85161580611774575073ffffffffffffffffffffffffffffffffffffffff8416155b156117ab576040517fd92e233d00000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b604080513360208083019190915273ffffffffffffffffffffffffffffffffffffffff8089168385015280881660608401528616608083015260a08083018690528351808403909101815260c090920190925280519101205f81815260036020526040902060018101549192509073ffffffffffffffffffffffffffffffffffffffff1615611869576040517fa940c060000000000000000000000000000000000000000000000000000000008152600481018390526024016105f7565b805473ffffffffffffffffffffffffffffffffffffffff9586167fffffffffffffffffffffffff0000000000000000000000000000000000000000918216178255600182018054978716978216979097179096556002810180549490951693861693909317909355506003018054909216331790915590565b5f815f0361191c576040517f1f2a200500000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b73ffffffffffffffffffffffffffffffffffffffff831661197757813414611970576040517f98d4901c00000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b5080610d87565b34156119af576040517f98d4901c00000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b6040517f70a0823100000000000000000000000000000000000000000000000000000000815230600482015283905f9073ffffffffffffffffffffffffffffffffffffffff8316906370a0823190602401602060405180830381865afa158015611a1b573d5f5f3e3d5ffd5b505050506040513d601f19601f82011682018060405250810190611a3f919061275c565b9050611a6373ffffffffffffffffffffffffffffffffffffffff8316333087611ea0565b6040517f70a082310000000000000000000000000000000000000000000000000000000081523060048201525f90829073ffffffffffffffffffffffffffffffffffffffff8516906370a0823190602401602060405180830381865afa158015611acf573d5f5f3e3d5ffd5b505050506040513d601f19601f82011682018060405250810190611af3919061275c565b611afd9190612658565b9050805f03610902576040517f1f2a200500000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b5f8281526003602052604081206004810154909190611b6a9084906fffffffffffffffffffffffffffffffff16612749565b90506fffffffffffffffffffffffffffffffff811115611bb6576040517f0625040100000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b60049190910180547fffffffffffffffffffffffffffffffff00000000000000000000000000000000166fffffffffffffffffffffffffffffffff9092169190911790555050565b60606116197f00000000000000000000000000000000000000000000000000000000000000005f611ee6565b60606116197f00000000000000000000000000000000000000000000000000000000000000006001611ee6565b5f610d87611c63611ce9565b836040517f19010000000000000000000000000000000000000000000000000000000000008152600281019290925260228201526042902090565b5f80807f7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff8416601b60ff86901c01611cd888828985611f8f565b945094509450505093509350939050565b5f3073ffffffffffffffffffffffffffffffffffffffff7f000000000000000000000000000000000000000000000000000000000000000016148015611d4e57507f000000000000000000000000000000000000000000000000000000000000000046145b15611d7857507f000000000000000000000000000000000000000000000000000000000000000090565b611619604080517f8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f60208201527f0000000000000000000000000000000000000000000000000000000000000000918101919091527f000000000000000000000000000000000000000000000000000000000000000060608201524660808201523060a08201525f9060c00160405160208183030381529060405280519060200120905090565b60405173ffffffffffffffffffffffffffffffffffffffff83811660248301526044820183905261173791859182169063a9059cbb906064015b604051602081830303815290604052915060e01b6020820180517bffffffffffffffffffffffffffffffffffffffffffffffffffffffff8381831617835250505050612082565b60405173ffffffffffffffffffffffffffffffffffffffff84811660248301528381166044830152606482018390526117109186918216906323b872dd90608401611e59565b606060ff8314611f0057611ef983612121565b9050610d87565b818054611f0c90612773565b80601f0160208091040260200160405190810160405280929190818152602001828054611f3890612773565b8015611f835780601f10611f5a57610100808354040283529160200191611f83565b820191905f5260205f20905b815481529060010190602001808311611f6657829003601f168201915b50505050509050610d87565b5f80807f7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0841115611fc857505f91506003905082612078565b604080515f808252602082018084528a905260ff891692820192909252606081018790526080810186905260019060a0016020604051602081039080840390855afa158015612019573d5f5f3e3d5ffd5b50506040517fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe0015191505073ffffffffffffffffffffffffffffffffffffffff811661206f57505f925060019150829050612078565b92505f91508190505b9450945094915050565b5f5f60205f8451602086015f885af1806120a1576040513d5f823e3d81fd5b50505f513d915081156120b85780600114156120d2565b73ffffffffffffffffffffffffffffffffffffffff84163b155b15611710576040517f5274afe700000000000000000000000000000000000000000000000000000000815273ffffffffffffffffffffffffffffffffffffffff851660048201526024016105f7565b60605f61212d8361215e565b6040805160208082528183019092529192505f91906020820181803683375050509182525060208101929092525090565b5f60ff8216601f811115610d87576040517fb3512b0c00000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b5f602082840312156121ae575f5ffd5b5035919050565b803573ffffffffffffffffffffffffffffffffffffffff811681146121d8575f5ffd5b919050565b5f5f5f5f5f60a086880312156121f1575f5ffd5b6121fa866121b5565b9450612208602087016121b5565b9350612216604087016121b5565b94979396509394606081013594506080013592915050565b803567ffffffffffffffff811681146121d8575f5ffd5b5f5f5f5f5f5f5f60e0888a03121561225b575f5ffd5b873596506020880135955060408801359450606088013593506122806080890161222e565b925061228e60a0890161222e565b96999598509396929591949193505060c09091013590565b5f5f5f5f5f5f5f5f5f6101208a8c0312156122bf575f5ffd5b6122c88a6121b5565b98506122d660208b016121b5565b97506122e460408b016121b5565b965060608a0135955060808a0135945060a08a0135935060c08a013560ff8116811461230e575f5ffd5b989b979a50959894979396929550929360e081013593506101000135919050565b5f6101008201905073ffffffffffffffffffffffffffffffffffffffff835116825267ffffffffffffffff60208401511660208301526040830151151560408301526060830151612398606084018273ffffffffffffffffffffffffffffffffffffffff169052565b5060808301516123c0608084018273ffffffffffffffffffffffffffffffffffffffff169052565b5060a08301516123e860a084018273ffffffffffffffffffffffffffffffffffffffff169052565b5060c083015161240c60c08401826fffffffffffffffffffffffffffffffff169052565b5060e083015161243060e08401826fffffffffffffffffffffffffffffffff169052565b5092915050565b5f81518084528060208401602086015e5f6020828601015260207fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe0601f83011685010191505092915050565b7fff000000000000000000000000000000000000000000000000000000000000008816815260e060208201525f6124bd60e0830189612437565b82810360408401526124cf8189612437565b6060840188905273ffffffffffffffffffffffffffffffffffffffff8716608085015260a0840186905283810360c0850152845180825260208087019350909101905f5b81811015612531578351835260209384019390920191600101612513565b50909b9a5050505050505050505050565b5f5f5f5f5f60a08688031215612556575f5ffd5b61255f866121b5565b945061256d602087016121b5565b935061257b604087016121b5565b9250612589606087016121b5565b949793965091946080013592915050565b5f5f604083850312156125ab575f5ffd5b50508035926020909101359150565b5f5f602083850312156125cb575f5ffd5b823567ffffffffffffffff8111156125e1575f5ffd5b8301601f810185136125f1575f5ffd5b803567ffffffffffffffff811115612607575f5ffd5b85602060c08302840101111561261b575f5ffd5b6020919091019590945092505050565b7f4e487b71000000000000000000000000000000000000000000000000000000005f52601160045260245ffd5b81810381811115610d8757610d8761262b565b7f4e487b71000000000000000000000000000000000000000000000000000000005f52604160045260245ffd5b67ffffffffffffffff8181168382160190811115610d8757610d8761262b565b7f4e487b71000000000000000000000000000000000000000000000000000000005f52603260045260245ffd5b7f4e487b71000000000000000000000000000000000000000000000000000000005f52602160045260245ffd5b5f7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff82036127425761274261262b565b5060010190565b80820180821115610d8757610d8761262b565b5f6020828403121561276c575f5ffd5b5051919050565b600181811c9082168061278757607f821691505b6020821081036127be577f4e487b71000000000000000000000000000000000000000000000000000000005f52602260045260245ffd5b5091905056",
}

// PaymentChannels is an auto generated Go binding around an Ethereum contract.
type PaymentChannels struct {
	abi abi.ABI
}

// GetABI returns the ABI associated with this contract binding.
func (c *PaymentChannels) GetABI() abi.ABI {
	return c.abi
}

// NewPaymentChannels creates a new instance of PaymentChannels.
func NewPaymentChannels() *PaymentChannels {
	parsed, err := PaymentChannelsMetaData.ParseABI()
	if err != nil {
		panic(errors.New("invalid ABI: " + err.Error()))
	}
	return &PaymentChannels{abi: *parsed}
}

// Instance creates a wrapper for a deployed contract instance at the given address.
// Use this to create the instance object passed to abigen v2 library functions Call, Transact, etc.
func (c *PaymentChannels) Instance(backend bind.ContractBackend, addr common.Address) *bind.BoundContract {
	return bind.NewBoundContract(addr, c.abi, backend, backend, backend)
}

// PackConstructor is the Go binding used to pack the parameters required for
// contract deployment.
//
// Solidity: constructor(uint64 withdrawalDelay_) returns()
func (paymentChannels *PaymentChannels) PackConstructor(withdrawalDelay_ uint64) []byte {
	enc, err := paymentChannels.abi.Pack("", withdrawalDelay_)
	if err != nil {
		panic(err)
	}
	return enc
}

// PackNATIVE is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa0cf0aea.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function NATIVE() view returns(address)
func (paymentChannels *PaymentChannels) PackNATIVE() []byte {
	enc, err := paymentChannels.abi.Pack("NATIVE")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackNATIVE is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa0cf0aea.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function NATIVE() view returns(address)
func (paymentChannels *PaymentChannels) TryPackNATIVE() ([]byte, error) {
	return paymentChannels.abi.Pack("NATIVE")
}

// UnpackNATIVE is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xa0cf0aea.
//
// Solidity: function NATIVE() view returns(address)
func (paymentChannels *PaymentChannels) UnpackNATIVE(data []byte) (common.Address, error) {
	out, err := paymentChannels.abi.Unpack("NATIVE", data)
	if err != nil {
		return *new(common.Address), err
	}
	out0 := *abi.ConvertType(out[0], new(common.Address)).(*common.Address)
	return out0, nil
}

// PackRECEIPTTYPEHASH is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x95850f59.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function RECEIPT_TYPEHASH() view returns(bytes32)
func (paymentChannels *PaymentChannels) PackRECEIPTTYPEHASH() []byte {
	enc, err := paymentChannels.abi.Pack("RECEIPT_TYPEHASH")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackRECEIPTTYPEHASH is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x95850f59.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function RECEIPT_TYPEHASH() view returns(bytes32)
func (paymentChannels *PaymentChannels) TryPackRECEIPTTYPEHASH() ([]byte, error) {
	return paymentChannels.abi.Pack("RECEIPT_TYPEHASH")
}

// UnpackRECEIPTTYPEHASH is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x95850f59.
//
// Solidity: function RECEIPT_TYPEHASH() view returns(bytes32)
func (paymentChannels *PaymentChannels) UnpackRECEIPTTYPEHASH(data []byte) ([32]byte, error) {
	out, err := paymentChannels.abi.Unpack("RECEIPT_TYPEHASH", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackVOUCHERTYPEHASH is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x94739e87.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function VOUCHER_TYPEHASH() view returns(bytes32)
func (paymentChannels *PaymentChannels) PackVOUCHERTYPEHASH() []byte {
	enc, err := paymentChannels.abi.Pack("VOUCHER_TYPEHASH")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackVOUCHERTYPEHASH is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x94739e87.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function VOUCHER_TYPEHASH() view returns(bytes32)
func (paymentChannels *PaymentChannels) TryPackVOUCHERTYPEHASH() ([]byte, error) {
	return paymentChannels.abi.Pack("VOUCHER_TYPEHASH")
}

// UnpackVOUCHERTYPEHASH is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x94739e87.
//
// Solidity: function VOUCHER_TYPEHASH() view returns(bytes32)
func (paymentChannels *PaymentChannels) UnpackVOUCHERTYPEHASH(data []byte) ([32]byte, error) {
	out, err := paymentChannels.abi.Unpack("VOUCHER_TYPEHASH", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackChannelId is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x9d07ec87.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function channelId(address payer, address provider, address signer, address asset, bytes32 salt) pure returns(bytes32)
func (paymentChannels *PaymentChannels) PackChannelId(payer common.Address, provider common.Address, signer common.Address, asset common.Address, salt [32]byte) []byte {
	enc, err := paymentChannels.abi.Pack("channelId", payer, provider, signer, asset, salt)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackChannelId is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x9d07ec87.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function channelId(address payer, address provider, address signer, address asset, bytes32 salt) pure returns(bytes32)
func (paymentChannels *PaymentChannels) TryPackChannelId(payer common.Address, provider common.Address, signer common.Address, asset common.Address, salt [32]byte) ([]byte, error) {
	return paymentChannels.abi.Pack("channelId", payer, provider, signer, asset, salt)
}

// UnpackChannelId is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x9d07ec87.
//
// Solidity: function channelId(address payer, address provider, address signer, address asset, bytes32 salt) pure returns(bytes32)
func (paymentChannels *PaymentChannels) UnpackChannelId(data []byte) ([32]byte, error) {
	out, err := paymentChannels.abi.Unpack("channelId", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackClaimMany is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xd2d242c2.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function claimMany((bytes32,uint256,uint256,bytes32,bytes32,bytes32)[] claims) returns()
func (paymentChannels *PaymentChannels) PackClaimMany(claims []PaymentChannelsClaim) []byte {
	enc, err := paymentChannels.abi.Pack("claimMany", claims)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackClaimMany is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xd2d242c2.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function claimMany((bytes32,uint256,uint256,bytes32,bytes32,bytes32)[] claims) returns()
func (paymentChannels *PaymentChannels) TryPackClaimMany(claims []PaymentChannelsClaim) ([]byte, error) {
	return paymentChannels.abi.Pack("claimMany", claims)
}

// PackDomainSeparator is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xf698da25.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function domainSeparator() view returns(bytes32)
func (paymentChannels *PaymentChannels) PackDomainSeparator() []byte {
	enc, err := paymentChannels.abi.Pack("domainSeparator")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackDomainSeparator is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xf698da25.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function domainSeparator() view returns(bytes32)
func (paymentChannels *PaymentChannels) TryPackDomainSeparator() ([]byte, error) {
	return paymentChannels.abi.Pack("domainSeparator")
}

// UnpackDomainSeparator is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xf698da25.
//
// Solidity: function domainSeparator() view returns(bytes32)
func (paymentChannels *PaymentChannels) UnpackDomainSeparator(data []byte) ([32]byte, error) {
	out, err := paymentChannels.abi.Unpack("domainSeparator", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackEip712Domain is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x84b0196e.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function eip712Domain() view returns(bytes1 fields, string name, string version, uint256 chainId, address verifyingContract, bytes32 salt, uint256[] extensions)
func (paymentChannels *PaymentChannels) PackEip712Domain() []byte {
	enc, err := paymentChannels.abi.Pack("eip712Domain")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackEip712Domain is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x84b0196e.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function eip712Domain() view returns(bytes1 fields, string name, string version, uint256 chainId, address verifyingContract, bytes32 salt, uint256[] extensions)
func (paymentChannels *PaymentChannels) TryPackEip712Domain() ([]byte, error) {
	return paymentChannels.abi.Pack("eip712Domain")
}

// Eip712DomainOutput serves as a container for the return parameters of contract
// method Eip712Domain.
type Eip712DomainOutput struct {
	Fields            [1]byte
	Name              string
	Version           string
	ChainId           *big.Int
	VerifyingContract common.Address
	Salt              [32]byte
	Extensions        []*big.Int
}

// UnpackEip712Domain is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x84b0196e.
//
// Solidity: function eip712Domain() view returns(bytes1 fields, string name, string version, uint256 chainId, address verifyingContract, bytes32 salt, uint256[] extensions)
func (paymentChannels *PaymentChannels) UnpackEip712Domain(data []byte) (Eip712DomainOutput, error) {
	out, err := paymentChannels.abi.Unpack("eip712Domain", data)
	outstruct := new(Eip712DomainOutput)
	if err != nil {
		return *outstruct, err
	}
	outstruct.Fields = *abi.ConvertType(out[0], new([1]byte)).(*[1]byte)
	outstruct.Name = *abi.ConvertType(out[1], new(string)).(*string)
	outstruct.Version = *abi.ConvertType(out[2], new(string)).(*string)
	outstruct.ChainId = abi.ConvertType(out[3], new(big.Int)).(*big.Int)
	outstruct.VerifyingContract = *abi.ConvertType(out[4], new(common.Address)).(*common.Address)
	outstruct.Salt = *abi.ConvertType(out[5], new([32]byte)).(*[32]byte)
	outstruct.Extensions = *abi.ConvertType(out[6], new([]*big.Int)).(*[]*big.Int)
	return *outstruct, nil
}

// PackFinalizeWithdrawal is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x10dce426.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function finalizeWithdrawal(bytes32 id) returns()
func (paymentChannels *PaymentChannels) PackFinalizeWithdrawal(id [32]byte) []byte {
	enc, err := paymentChannels.abi.Pack("finalizeWithdrawal", id)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackFinalizeWithdrawal is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x10dce426.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function finalizeWithdrawal(bytes32 id) returns()
func (paymentChannels *PaymentChannels) TryPackFinalizeWithdrawal(id [32]byte) ([]byte, error) {
	return paymentChannels.abi.Pack("finalizeWithdrawal", id)
}

// PackGetChannel is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x831c2b82.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function getChannel(bytes32 id) view returns((address,uint64,bool,address,address,address,uint128,uint128))
func (paymentChannels *PaymentChannels) PackGetChannel(id [32]byte) []byte {
	enc, err := paymentChannels.abi.Pack("getChannel", id)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackGetChannel is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x831c2b82.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function getChannel(bytes32 id) view returns((address,uint64,bool,address,address,address,uint128,uint128))
func (paymentChannels *PaymentChannels) TryPackGetChannel(id [32]byte) ([]byte, error) {
	return paymentChannels.abi.Pack("getChannel", id)
}

// UnpackGetChannel is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x831c2b82.
//
// Solidity: function getChannel(bytes32 id) view returns((address,uint64,bool,address,address,address,uint128,uint128))
func (paymentChannels *PaymentChannels) UnpackGetChannel(data []byte) (PaymentChannelsChannel, error) {
	out, err := paymentChannels.abi.Unpack("getChannel", data)
	if err != nil {
		return *new(PaymentChannelsChannel), err
	}
	out0 := *abi.ConvertType(out[0], new(PaymentChannelsChannel)).(*PaymentChannelsChannel)
	return out0, nil
}

// PackHashReceipt is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x9f00c4cb.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function hashReceipt(bytes32 id, bytes32 jobId, uint256 cost, uint256 cumulativeCharged, uint64 inputTokens, uint64 outputTokens, bytes32 resultHash) view returns(bytes32)
func (paymentChannels *PaymentChannels) PackHashReceipt(id [32]byte, jobId [32]byte, cost *big.Int, cumulativeCharged *big.Int, inputTokens uint64, outputTokens uint64, resultHash [32]byte) []byte {
	enc, err := paymentChannels.abi.Pack("hashReceipt", id, jobId, cost, cumulativeCharged, inputTokens, outputTokens, resultHash)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackHashReceipt is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x9f00c4cb.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function hashReceipt(bytes32 id, bytes32 jobId, uint256 cost, uint256 cumulativeCharged, uint64 inputTokens, uint64 outputTokens, bytes32 resultHash) view returns(bytes32)
func (paymentChannels *PaymentChannels) TryPackHashReceipt(id [32]byte, jobId [32]byte, cost *big.Int, cumulativeCharged *big.Int, inputTokens uint64, outputTokens uint64, resultHash [32]byte) ([]byte, error) {
	return paymentChannels.abi.Pack("hashReceipt", id, jobId, cost, cumulativeCharged, inputTokens, outputTokens, resultHash)
}

// UnpackHashReceipt is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x9f00c4cb.
//
// Solidity: function hashReceipt(bytes32 id, bytes32 jobId, uint256 cost, uint256 cumulativeCharged, uint64 inputTokens, uint64 outputTokens, bytes32 resultHash) view returns(bytes32)
func (paymentChannels *PaymentChannels) UnpackHashReceipt(data []byte) ([32]byte, error) {
	out, err := paymentChannels.abi.Unpack("hashReceipt", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackHashReceiptStruct is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x55d5a840.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function hashReceiptStruct(bytes32 id, bytes32 jobId, uint256 cost, uint256 cumulativeCharged, uint64 inputTokens, uint64 outputTokens, bytes32 resultHash) pure returns(bytes32)
func (paymentChannels *PaymentChannels) PackHashReceiptStruct(id [32]byte, jobId [32]byte, cost *big.Int, cumulativeCharged *big.Int, inputTokens uint64, outputTokens uint64, resultHash [32]byte) []byte {
	enc, err := paymentChannels.abi.Pack("hashReceiptStruct", id, jobId, cost, cumulativeCharged, inputTokens, outputTokens, resultHash)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackHashReceiptStruct is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x55d5a840.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function hashReceiptStruct(bytes32 id, bytes32 jobId, uint256 cost, uint256 cumulativeCharged, uint64 inputTokens, uint64 outputTokens, bytes32 resultHash) pure returns(bytes32)
func (paymentChannels *PaymentChannels) TryPackHashReceiptStruct(id [32]byte, jobId [32]byte, cost *big.Int, cumulativeCharged *big.Int, inputTokens uint64, outputTokens uint64, resultHash [32]byte) ([]byte, error) {
	return paymentChannels.abi.Pack("hashReceiptStruct", id, jobId, cost, cumulativeCharged, inputTokens, outputTokens, resultHash)
}

// UnpackHashReceiptStruct is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x55d5a840.
//
// Solidity: function hashReceiptStruct(bytes32 id, bytes32 jobId, uint256 cost, uint256 cumulativeCharged, uint64 inputTokens, uint64 outputTokens, bytes32 resultHash) pure returns(bytes32)
func (paymentChannels *PaymentChannels) UnpackHashReceiptStruct(data []byte) ([32]byte, error) {
	out, err := paymentChannels.abi.Unpack("hashReceiptStruct", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackHashVoucher is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x9d34e90c.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function hashVoucher(bytes32 id, uint256 cumulativeAmount) view returns(bytes32)
func (paymentChannels *PaymentChannels) PackHashVoucher(id [32]byte, cumulativeAmount *big.Int) []byte {
	enc, err := paymentChannels.abi.Pack("hashVoucher", id, cumulativeAmount)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackHashVoucher is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x9d34e90c.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function hashVoucher(bytes32 id, uint256 cumulativeAmount) view returns(bytes32)
func (paymentChannels *PaymentChannels) TryPackHashVoucher(id [32]byte, cumulativeAmount *big.Int) ([]byte, error) {
	return paymentChannels.abi.Pack("hashVoucher", id, cumulativeAmount)
}

// UnpackHashVoucher is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x9d34e90c.
//
// Solidity: function hashVoucher(bytes32 id, uint256 cumulativeAmount) view returns(bytes32)
func (paymentChannels *PaymentChannels) UnpackHashVoucher(data []byte) ([32]byte, error) {
	out, err := paymentChannels.abi.Unpack("hashVoucher", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackOpen is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x22cccfc7.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function open(address provider, address signer, address asset, uint256 amount, bytes32 salt) payable returns(bytes32 id)
func (paymentChannels *PaymentChannels) PackOpen(provider common.Address, signer common.Address, asset common.Address, amount *big.Int, salt [32]byte) []byte {
	enc, err := paymentChannels.abi.Pack("open", provider, signer, asset, amount, salt)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackOpen is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x22cccfc7.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function open(address provider, address signer, address asset, uint256 amount, bytes32 salt) payable returns(bytes32 id)
func (paymentChannels *PaymentChannels) TryPackOpen(provider common.Address, signer common.Address, asset common.Address, amount *big.Int, salt [32]byte) ([]byte, error) {
	return paymentChannels.abi.Pack("open", provider, signer, asset, amount, salt)
}

// UnpackOpen is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x22cccfc7.
//
// Solidity: function open(address provider, address signer, address asset, uint256 amount, bytes32 salt) payable returns(bytes32 id)
func (paymentChannels *PaymentChannels) UnpackOpen(data []byte) ([32]byte, error) {
	out, err := paymentChannels.abi.Unpack("open", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackOpenWithPermit is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x59d89ad4.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function openWithPermit(address provider, address signer, address token, uint256 amount, bytes32 salt, uint256 deadline, uint8 v, bytes32 r, bytes32 s) returns(bytes32 id)
func (paymentChannels *PaymentChannels) PackOpenWithPermit(provider common.Address, signer common.Address, token common.Address, amount *big.Int, salt [32]byte, deadline *big.Int, v uint8, r [32]byte, s [32]byte) []byte {
	enc, err := paymentChannels.abi.Pack("openWithPermit", provider, signer, token, amount, salt, deadline, v, r, s)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackOpenWithPermit is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x59d89ad4.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function openWithPermit(address provider, address signer, address token, uint256 amount, bytes32 salt, uint256 deadline, uint8 v, bytes32 r, bytes32 s) returns(bytes32 id)
func (paymentChannels *PaymentChannels) TryPackOpenWithPermit(provider common.Address, signer common.Address, token common.Address, amount *big.Int, salt [32]byte, deadline *big.Int, v uint8, r [32]byte, s [32]byte) ([]byte, error) {
	return paymentChannels.abi.Pack("openWithPermit", provider, signer, token, amount, salt, deadline, v, r, s)
}

// UnpackOpenWithPermit is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x59d89ad4.
//
// Solidity: function openWithPermit(address provider, address signer, address token, uint256 amount, bytes32 salt, uint256 deadline, uint8 v, bytes32 r, bytes32 s) returns(bytes32 id)
func (paymentChannels *PaymentChannels) UnpackOpenWithPermit(data []byte) ([32]byte, error) {
	out, err := paymentChannels.abi.Unpack("openWithPermit", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackRequestWithdrawal is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x902f5c51.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function requestWithdrawal(bytes32 id) returns()
func (paymentChannels *PaymentChannels) PackRequestWithdrawal(id [32]byte) []byte {
	enc, err := paymentChannels.abi.Pack("requestWithdrawal", id)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackRequestWithdrawal is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x902f5c51.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function requestWithdrawal(bytes32 id) returns()
func (paymentChannels *PaymentChannels) TryPackRequestWithdrawal(id [32]byte) ([]byte, error) {
	return paymentChannels.abi.Pack("requestWithdrawal", id)
}

// PackTopUp is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xb67644b9.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function topUp(bytes32 id, uint256 amount) payable returns()
func (paymentChannels *PaymentChannels) PackTopUp(id [32]byte, amount *big.Int) []byte {
	enc, err := paymentChannels.abi.Pack("topUp", id, amount)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackTopUp is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xb67644b9.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function topUp(bytes32 id, uint256 amount) payable returns()
func (paymentChannels *PaymentChannels) TryPackTopUp(id [32]byte, amount *big.Int) ([]byte, error) {
	return paymentChannels.abi.Pack("topUp", id, amount)
}

// PackWithdrawalDelay is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa7ab6961.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function withdrawalDelay() view returns(uint64)
func (paymentChannels *PaymentChannels) PackWithdrawalDelay() []byte {
	enc, err := paymentChannels.abi.Pack("withdrawalDelay")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackWithdrawalDelay is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa7ab6961.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function withdrawalDelay() view returns(uint64)
func (paymentChannels *PaymentChannels) TryPackWithdrawalDelay() ([]byte, error) {
	return paymentChannels.abi.Pack("withdrawalDelay")
}

// UnpackWithdrawalDelay is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xa7ab6961.
//
// Solidity: function withdrawalDelay() view returns(uint64)
func (paymentChannels *PaymentChannels) UnpackWithdrawalDelay(data []byte) (uint64, error) {
	out, err := paymentChannels.abi.Unpack("withdrawalDelay", data)
	if err != nil {
		return *new(uint64), err
	}
	out0 := *abi.ConvertType(out[0], new(uint64)).(*uint64)
	return out0, nil
}

// PaymentChannelsChannelOpened represents a ChannelOpened event raised by the PaymentChannels contract.
type PaymentChannelsChannelOpened struct {
	ChannelId [32]byte
	Payer     common.Address
	Provider  common.Address
	Signer    common.Address
	Asset     common.Address
	Deposit   *big.Int
	Raw       *types.Log // Blockchain specific contextual infos
}

const PaymentChannelsChannelOpenedEventName = "ChannelOpened"

// ContractEventName returns the user-defined event name.
func (PaymentChannelsChannelOpened) ContractEventName() string {
	return PaymentChannelsChannelOpenedEventName
}

// UnpackChannelOpenedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event ChannelOpened(bytes32 indexed channelId, address indexed payer, address indexed provider, address signer, address asset, uint256 deposit)
func (paymentChannels *PaymentChannels) UnpackChannelOpenedEvent(log *types.Log) (*PaymentChannelsChannelOpened, error) {
	event := "ChannelOpened"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != paymentChannels.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(PaymentChannelsChannelOpened)
	if len(log.Data) > 0 {
		if err := paymentChannels.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range paymentChannels.abi.Events[event].Inputs {
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

// PaymentChannelsChannelToppedUp represents a ChannelToppedUp event raised by the PaymentChannels contract.
type PaymentChannelsChannelToppedUp struct {
	ChannelId [32]byte
	Amount    *big.Int
	Deposit   *big.Int
	Raw       *types.Log // Blockchain specific contextual infos
}

const PaymentChannelsChannelToppedUpEventName = "ChannelToppedUp"

// ContractEventName returns the user-defined event name.
func (PaymentChannelsChannelToppedUp) ContractEventName() string {
	return PaymentChannelsChannelToppedUpEventName
}

// UnpackChannelToppedUpEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event ChannelToppedUp(bytes32 indexed channelId, uint256 amount, uint256 deposit)
func (paymentChannels *PaymentChannels) UnpackChannelToppedUpEvent(log *types.Log) (*PaymentChannelsChannelToppedUp, error) {
	event := "ChannelToppedUp"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != paymentChannels.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(PaymentChannelsChannelToppedUp)
	if len(log.Data) > 0 {
		if err := paymentChannels.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range paymentChannels.abi.Events[event].Inputs {
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

// PaymentChannelsClaimed represents a Claimed event raised by the PaymentChannels contract.
type PaymentChannelsClaimed struct {
	ChannelId     [32]byte
	Provider      common.Address
	Amount        *big.Int
	TotalClaimed  *big.Int
	VoucherAmount *big.Int
	ReceiptsRoot  [32]byte
	Raw           *types.Log // Blockchain specific contextual infos
}

const PaymentChannelsClaimedEventName = "Claimed"

// ContractEventName returns the user-defined event name.
func (PaymentChannelsClaimed) ContractEventName() string {
	return PaymentChannelsClaimedEventName
}

// UnpackClaimedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Claimed(bytes32 indexed channelId, address indexed provider, uint256 amount, uint256 totalClaimed, uint256 voucherAmount, bytes32 receiptsRoot)
func (paymentChannels *PaymentChannels) UnpackClaimedEvent(log *types.Log) (*PaymentChannelsClaimed, error) {
	event := "Claimed"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != paymentChannels.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(PaymentChannelsClaimed)
	if len(log.Data) > 0 {
		if err := paymentChannels.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range paymentChannels.abi.Events[event].Inputs {
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

// PaymentChannelsEIP712DomainChanged represents a EIP712DomainChanged event raised by the PaymentChannels contract.
type PaymentChannelsEIP712DomainChanged struct {
	Raw *types.Log // Blockchain specific contextual infos
}

const PaymentChannelsEIP712DomainChangedEventName = "EIP712DomainChanged"

// ContractEventName returns the user-defined event name.
func (PaymentChannelsEIP712DomainChanged) ContractEventName() string {
	return PaymentChannelsEIP712DomainChangedEventName
}

// UnpackEIP712DomainChangedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event EIP712DomainChanged()
func (paymentChannels *PaymentChannels) UnpackEIP712DomainChangedEvent(log *types.Log) (*PaymentChannelsEIP712DomainChanged, error) {
	event := "EIP712DomainChanged"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != paymentChannels.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(PaymentChannelsEIP712DomainChanged)
	if len(log.Data) > 0 {
		if err := paymentChannels.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range paymentChannels.abi.Events[event].Inputs {
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

// PaymentChannelsWithdrawalRequested represents a WithdrawalRequested event raised by the PaymentChannels contract.
type PaymentChannelsWithdrawalRequested struct {
	ChannelId      [32]byte
	WithdrawableAt uint64
	Raw            *types.Log // Blockchain specific contextual infos
}

const PaymentChannelsWithdrawalRequestedEventName = "WithdrawalRequested"

// ContractEventName returns the user-defined event name.
func (PaymentChannelsWithdrawalRequested) ContractEventName() string {
	return PaymentChannelsWithdrawalRequestedEventName
}

// UnpackWithdrawalRequestedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event WithdrawalRequested(bytes32 indexed channelId, uint64 withdrawableAt)
func (paymentChannels *PaymentChannels) UnpackWithdrawalRequestedEvent(log *types.Log) (*PaymentChannelsWithdrawalRequested, error) {
	event := "WithdrawalRequested"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != paymentChannels.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(PaymentChannelsWithdrawalRequested)
	if len(log.Data) > 0 {
		if err := paymentChannels.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range paymentChannels.abi.Events[event].Inputs {
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

// PaymentChannelsWithdrawn represents a Withdrawn event raised by the PaymentChannels contract.
type PaymentChannelsWithdrawn struct {
	ChannelId [32]byte
	Payer     common.Address
	Refund    *big.Int
	Raw       *types.Log // Blockchain specific contextual infos
}

const PaymentChannelsWithdrawnEventName = "Withdrawn"

// ContractEventName returns the user-defined event name.
func (PaymentChannelsWithdrawn) ContractEventName() string {
	return PaymentChannelsWithdrawnEventName
}

// UnpackWithdrawnEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Withdrawn(bytes32 indexed channelId, address indexed payer, uint256 refund)
func (paymentChannels *PaymentChannels) UnpackWithdrawnEvent(log *types.Log) (*PaymentChannelsWithdrawn, error) {
	event := "Withdrawn"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != paymentChannels.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(PaymentChannelsWithdrawn)
	if len(log.Data) > 0 {
		if err := paymentChannels.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range paymentChannels.abi.Events[event].Inputs {
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
func (paymentChannels *PaymentChannels) UnpackError(raw []byte) (any, error) {
	if bytes.Equal(raw[:4], paymentChannels.abi.Errors["AmountTooLarge"].ID.Bytes()[:4]) {
		return paymentChannels.UnpackAmountTooLargeError(raw[4:])
	}
	if bytes.Equal(raw[:4], paymentChannels.abi.Errors["ChannelClosed"].ID.Bytes()[:4]) {
		return paymentChannels.UnpackChannelClosedError(raw[4:])
	}
	if bytes.Equal(raw[:4], paymentChannels.abi.Errors["ChannelExists"].ID.Bytes()[:4]) {
		return paymentChannels.UnpackChannelExistsError(raw[4:])
	}
	if bytes.Equal(raw[:4], paymentChannels.abi.Errors["ClaimAboveDeposit"].ID.Bytes()[:4]) {
		return paymentChannels.UnpackClaimAboveDepositError(raw[4:])
	}
	if bytes.Equal(raw[:4], paymentChannels.abi.Errors["ClaimAboveVoucher"].ID.Bytes()[:4]) {
		return paymentChannels.UnpackClaimAboveVoucherError(raw[4:])
	}
	if bytes.Equal(raw[:4], paymentChannels.abi.Errors["ClaimNotIncreasing"].ID.Bytes()[:4]) {
		return paymentChannels.UnpackClaimNotIncreasingError(raw[4:])
	}
	if bytes.Equal(raw[:4], paymentChannels.abi.Errors["EmptyBatch"].ID.Bytes()[:4]) {
		return paymentChannels.UnpackEmptyBatchError(raw[4:])
	}
	if bytes.Equal(raw[:4], paymentChannels.abi.Errors["InvalidShortString"].ID.Bytes()[:4]) {
		return paymentChannels.UnpackInvalidShortStringError(raw[4:])
	}
	if bytes.Equal(raw[:4], paymentChannels.abi.Errors["InvalidSignature"].ID.Bytes()[:4]) {
		return paymentChannels.UnpackInvalidSignatureError(raw[4:])
	}
	if bytes.Equal(raw[:4], paymentChannels.abi.Errors["NotPayer"].ID.Bytes()[:4]) {
		return paymentChannels.UnpackNotPayerError(raw[4:])
	}
	if bytes.Equal(raw[:4], paymentChannels.abi.Errors["NotProvider"].ID.Bytes()[:4]) {
		return paymentChannels.UnpackNotProviderError(raw[4:])
	}
	if bytes.Equal(raw[:4], paymentChannels.abi.Errors["ReentrancyGuardReentrantCall"].ID.Bytes()[:4]) {
		return paymentChannels.UnpackReentrancyGuardReentrantCallError(raw[4:])
	}
	if bytes.Equal(raw[:4], paymentChannels.abi.Errors["SafeERC20FailedOperation"].ID.Bytes()[:4]) {
		return paymentChannels.UnpackSafeERC20FailedOperationError(raw[4:])
	}
	if bytes.Equal(raw[:4], paymentChannels.abi.Errors["StringTooLong"].ID.Bytes()[:4]) {
		return paymentChannels.UnpackStringTooLongError(raw[4:])
	}
	if bytes.Equal(raw[:4], paymentChannels.abi.Errors["TransferFailed"].ID.Bytes()[:4]) {
		return paymentChannels.UnpackTransferFailedError(raw[4:])
	}
	if bytes.Equal(raw[:4], paymentChannels.abi.Errors["UnknownChannel"].ID.Bytes()[:4]) {
		return paymentChannels.UnpackUnknownChannelError(raw[4:])
	}
	if bytes.Equal(raw[:4], paymentChannels.abi.Errors["WithdrawalNotRequested"].ID.Bytes()[:4]) {
		return paymentChannels.UnpackWithdrawalNotRequestedError(raw[4:])
	}
	if bytes.Equal(raw[:4], paymentChannels.abi.Errors["WithdrawalPending"].ID.Bytes()[:4]) {
		return paymentChannels.UnpackWithdrawalPendingError(raw[4:])
	}
	if bytes.Equal(raw[:4], paymentChannels.abi.Errors["WithdrawalTooEarly"].ID.Bytes()[:4]) {
		return paymentChannels.UnpackWithdrawalTooEarlyError(raw[4:])
	}
	if bytes.Equal(raw[:4], paymentChannels.abi.Errors["WrongValue"].ID.Bytes()[:4]) {
		return paymentChannels.UnpackWrongValueError(raw[4:])
	}
	if bytes.Equal(raw[:4], paymentChannels.abi.Errors["ZeroAddress"].ID.Bytes()[:4]) {
		return paymentChannels.UnpackZeroAddressError(raw[4:])
	}
	if bytes.Equal(raw[:4], paymentChannels.abi.Errors["ZeroAmount"].ID.Bytes()[:4]) {
		return paymentChannels.UnpackZeroAmountError(raw[4:])
	}
	return nil, errors.New("Unknown error")
}

// PaymentChannelsAmountTooLarge represents a AmountTooLarge error raised by the PaymentChannels contract.
type PaymentChannelsAmountTooLarge struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error AmountTooLarge()
func PaymentChannelsAmountTooLargeErrorID() common.Hash {
	return common.HexToHash("0x06250401c072295744520da9e60a3a29ab28ceb9fda5d792222d5242d22e8a44")
}

// UnpackAmountTooLargeError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error AmountTooLarge()
func (paymentChannels *PaymentChannels) UnpackAmountTooLargeError(raw []byte) (*PaymentChannelsAmountTooLarge, error) {
	out := new(PaymentChannelsAmountTooLarge)
	if err := paymentChannels.abi.UnpackIntoInterface(out, "AmountTooLarge", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// PaymentChannelsChannelClosed represents a ChannelClosed error raised by the PaymentChannels contract.
type PaymentChannelsChannelClosed struct {
	ChannelId [32]byte
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ChannelClosed(bytes32 channelId)
func PaymentChannelsChannelClosedErrorID() common.Hash {
	return common.HexToHash("0xceeab2eef998c17fe96f30f83fbf3c55fc5047f6e40c55a0cf72d236e9d2ba72")
}

// UnpackChannelClosedError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ChannelClosed(bytes32 channelId)
func (paymentChannels *PaymentChannels) UnpackChannelClosedError(raw []byte) (*PaymentChannelsChannelClosed, error) {
	out := new(PaymentChannelsChannelClosed)
	if err := paymentChannels.abi.UnpackIntoInterface(out, "ChannelClosed", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// PaymentChannelsChannelExists represents a ChannelExists error raised by the PaymentChannels contract.
type PaymentChannelsChannelExists struct {
	ChannelId [32]byte
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ChannelExists(bytes32 channelId)
func PaymentChannelsChannelExistsErrorID() common.Hash {
	return common.HexToHash("0xa940c060494e4a8725ceaaeed5009635eed00c41d329b627de1735c400b10517")
}

// UnpackChannelExistsError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ChannelExists(bytes32 channelId)
func (paymentChannels *PaymentChannels) UnpackChannelExistsError(raw []byte) (*PaymentChannelsChannelExists, error) {
	out := new(PaymentChannelsChannelExists)
	if err := paymentChannels.abi.UnpackIntoInterface(out, "ChannelExists", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// PaymentChannelsClaimAboveDeposit represents a ClaimAboveDeposit error raised by the PaymentChannels contract.
type PaymentChannelsClaimAboveDeposit struct {
	ChannelId [32]byte
	Amount    *big.Int
	Deposit   *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ClaimAboveDeposit(bytes32 channelId, uint256 amount, uint256 deposit)
func PaymentChannelsClaimAboveDepositErrorID() common.Hash {
	return common.HexToHash("0xa323a7b0973b43db7f7ada6470e29d0a875a6566da0fcb9ab1383ae4ede17796")
}

// UnpackClaimAboveDepositError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ClaimAboveDeposit(bytes32 channelId, uint256 amount, uint256 deposit)
func (paymentChannels *PaymentChannels) UnpackClaimAboveDepositError(raw []byte) (*PaymentChannelsClaimAboveDeposit, error) {
	out := new(PaymentChannelsClaimAboveDeposit)
	if err := paymentChannels.abi.UnpackIntoInterface(out, "ClaimAboveDeposit", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// PaymentChannelsClaimAboveVoucher represents a ClaimAboveVoucher error raised by the PaymentChannels contract.
type PaymentChannelsClaimAboveVoucher struct {
	ChannelId     [32]byte
	Amount        *big.Int
	VoucherAmount *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ClaimAboveVoucher(bytes32 channelId, uint256 amount, uint256 voucherAmount)
func PaymentChannelsClaimAboveVoucherErrorID() common.Hash {
	return common.HexToHash("0x4fb5eedf5ef01e6f51c4e31324f41137a2e8cf7f71f3d9b1361dc1302adefeb2")
}

// UnpackClaimAboveVoucherError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ClaimAboveVoucher(bytes32 channelId, uint256 amount, uint256 voucherAmount)
func (paymentChannels *PaymentChannels) UnpackClaimAboveVoucherError(raw []byte) (*PaymentChannelsClaimAboveVoucher, error) {
	out := new(PaymentChannelsClaimAboveVoucher)
	if err := paymentChannels.abi.UnpackIntoInterface(out, "ClaimAboveVoucher", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// PaymentChannelsClaimNotIncreasing represents a ClaimNotIncreasing error raised by the PaymentChannels contract.
type PaymentChannelsClaimNotIncreasing struct {
	ChannelId [32]byte
	Amount    *big.Int
	Claimed   *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ClaimNotIncreasing(bytes32 channelId, uint256 amount, uint256 claimed)
func PaymentChannelsClaimNotIncreasingErrorID() common.Hash {
	return common.HexToHash("0x7bff8228c8279db7d5b29e6c977c132941e30f2d91e4182004fd91fccb954d1d")
}

// UnpackClaimNotIncreasingError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ClaimNotIncreasing(bytes32 channelId, uint256 amount, uint256 claimed)
func (paymentChannels *PaymentChannels) UnpackClaimNotIncreasingError(raw []byte) (*PaymentChannelsClaimNotIncreasing, error) {
	out := new(PaymentChannelsClaimNotIncreasing)
	if err := paymentChannels.abi.UnpackIntoInterface(out, "ClaimNotIncreasing", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// PaymentChannelsEmptyBatch represents a EmptyBatch error raised by the PaymentChannels contract.
type PaymentChannelsEmptyBatch struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error EmptyBatch()
func PaymentChannelsEmptyBatchErrorID() common.Hash {
	return common.HexToHash("0xc2e5347df6cf8d1bf68f8a9651642312bd381b900d857d97cd665976180d6ae0")
}

// UnpackEmptyBatchError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error EmptyBatch()
func (paymentChannels *PaymentChannels) UnpackEmptyBatchError(raw []byte) (*PaymentChannelsEmptyBatch, error) {
	out := new(PaymentChannelsEmptyBatch)
	if err := paymentChannels.abi.UnpackIntoInterface(out, "EmptyBatch", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// PaymentChannelsInvalidShortString represents a InvalidShortString error raised by the PaymentChannels contract.
type PaymentChannelsInvalidShortString struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error InvalidShortString()
func PaymentChannelsInvalidShortStringErrorID() common.Hash {
	return common.HexToHash("0xb3512b0c6163e5f0bafab72bb631b9d58cd7a731b082f910338aa21c83d5c274")
}

// UnpackInvalidShortStringError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error InvalidShortString()
func (paymentChannels *PaymentChannels) UnpackInvalidShortStringError(raw []byte) (*PaymentChannelsInvalidShortString, error) {
	out := new(PaymentChannelsInvalidShortString)
	if err := paymentChannels.abi.UnpackIntoInterface(out, "InvalidShortString", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// PaymentChannelsInvalidSignature represents a InvalidSignature error raised by the PaymentChannels contract.
type PaymentChannelsInvalidSignature struct {
	ChannelId [32]byte
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error InvalidSignature(bytes32 channelId)
func PaymentChannelsInvalidSignatureErrorID() common.Hash {
	return common.HexToHash("0x666b7cba1c1e18e9729cc96bc32dad18492fd8ee8fcb6327b7a2337ed37534f6")
}

// UnpackInvalidSignatureError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error InvalidSignature(bytes32 channelId)
func (paymentChannels *PaymentChannels) UnpackInvalidSignatureError(raw []byte) (*PaymentChannelsInvalidSignature, error) {
	out := new(PaymentChannelsInvalidSignature)
	if err := paymentChannels.abi.UnpackIntoInterface(out, "InvalidSignature", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// PaymentChannelsNotPayer represents a NotPayer error raised by the PaymentChannels contract.
type PaymentChannelsNotPayer struct {
	ChannelId [32]byte
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error NotPayer(bytes32 channelId)
func PaymentChannelsNotPayerErrorID() common.Hash {
	return common.HexToHash("0x7be76efbba35259797bf66d5887846ea13e4aeac79f16c79ca831271ab2cada3")
}

// UnpackNotPayerError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error NotPayer(bytes32 channelId)
func (paymentChannels *PaymentChannels) UnpackNotPayerError(raw []byte) (*PaymentChannelsNotPayer, error) {
	out := new(PaymentChannelsNotPayer)
	if err := paymentChannels.abi.UnpackIntoInterface(out, "NotPayer", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// PaymentChannelsNotProvider represents a NotProvider error raised by the PaymentChannels contract.
type PaymentChannelsNotProvider struct {
	ChannelId [32]byte
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error NotProvider(bytes32 channelId)
func PaymentChannelsNotProviderErrorID() common.Hash {
	return common.HexToHash("0xc9126aaeb6fef2c112a69f94d2d6ec19ca7322b382d8fe1020ab7b51043c0d29")
}

// UnpackNotProviderError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error NotProvider(bytes32 channelId)
func (paymentChannels *PaymentChannels) UnpackNotProviderError(raw []byte) (*PaymentChannelsNotProvider, error) {
	out := new(PaymentChannelsNotProvider)
	if err := paymentChannels.abi.UnpackIntoInterface(out, "NotProvider", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// PaymentChannelsReentrancyGuardReentrantCall represents a ReentrancyGuardReentrantCall error raised by the PaymentChannels contract.
type PaymentChannelsReentrancyGuardReentrantCall struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ReentrancyGuardReentrantCall()
func PaymentChannelsReentrancyGuardReentrantCallErrorID() common.Hash {
	return common.HexToHash("0x3ee5aeb571de7fc460830b4d0017439a1ca56fb0bc39062227ade4fe4a24c1ca")
}

// UnpackReentrancyGuardReentrantCallError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ReentrancyGuardReentrantCall()
func (paymentChannels *PaymentChannels) UnpackReentrancyGuardReentrantCallError(raw []byte) (*PaymentChannelsReentrancyGuardReentrantCall, error) {
	out := new(PaymentChannelsReentrancyGuardReentrantCall)
	if err := paymentChannels.abi.UnpackIntoInterface(out, "ReentrancyGuardReentrantCall", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// PaymentChannelsSafeERC20FailedOperation represents a SafeERC20FailedOperation error raised by the PaymentChannels contract.
type PaymentChannelsSafeERC20FailedOperation struct {
	Token common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error SafeERC20FailedOperation(address token)
func PaymentChannelsSafeERC20FailedOperationErrorID() common.Hash {
	return common.HexToHash("0x5274afe73c98b4749fc91ffae6b7b574e7842cb2144a159e9377a5f20b32edf9")
}

// UnpackSafeERC20FailedOperationError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error SafeERC20FailedOperation(address token)
func (paymentChannels *PaymentChannels) UnpackSafeERC20FailedOperationError(raw []byte) (*PaymentChannelsSafeERC20FailedOperation, error) {
	out := new(PaymentChannelsSafeERC20FailedOperation)
	if err := paymentChannels.abi.UnpackIntoInterface(out, "SafeERC20FailedOperation", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// PaymentChannelsStringTooLong represents a StringTooLong error raised by the PaymentChannels contract.
type PaymentChannelsStringTooLong struct {
	Str string
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error StringTooLong(string str)
func PaymentChannelsStringTooLongErrorID() common.Hash {
	return common.HexToHash("0x305a27a93f8e33b7392df0a0f91d6fc63847395853c45991eec52dbf24d72381")
}

// UnpackStringTooLongError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error StringTooLong(string str)
func (paymentChannels *PaymentChannels) UnpackStringTooLongError(raw []byte) (*PaymentChannelsStringTooLong, error) {
	out := new(PaymentChannelsStringTooLong)
	if err := paymentChannels.abi.UnpackIntoInterface(out, "StringTooLong", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// PaymentChannelsTransferFailed represents a TransferFailed error raised by the PaymentChannels contract.
type PaymentChannelsTransferFailed struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error TransferFailed()
func PaymentChannelsTransferFailedErrorID() common.Hash {
	return common.HexToHash("0x90b8ec1877afffd816d05d9b13947f3ff18ec5851c38bad15ec2b710f92391b1")
}

// UnpackTransferFailedError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error TransferFailed()
func (paymentChannels *PaymentChannels) UnpackTransferFailedError(raw []byte) (*PaymentChannelsTransferFailed, error) {
	out := new(PaymentChannelsTransferFailed)
	if err := paymentChannels.abi.UnpackIntoInterface(out, "TransferFailed", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// PaymentChannelsUnknownChannel represents a UnknownChannel error raised by the PaymentChannels contract.
type PaymentChannelsUnknownChannel struct {
	ChannelId [32]byte
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error UnknownChannel(bytes32 channelId)
func PaymentChannelsUnknownChannelErrorID() common.Hash {
	return common.HexToHash("0xb08fc1cb7d4c5a62cfc36d1d52273872c8ad5c540953a2c17c0a39912130100d")
}

// UnpackUnknownChannelError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error UnknownChannel(bytes32 channelId)
func (paymentChannels *PaymentChannels) UnpackUnknownChannelError(raw []byte) (*PaymentChannelsUnknownChannel, error) {
	out := new(PaymentChannelsUnknownChannel)
	if err := paymentChannels.abi.UnpackIntoInterface(out, "UnknownChannel", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// PaymentChannelsWithdrawalNotRequested represents a WithdrawalNotRequested error raised by the PaymentChannels contract.
type PaymentChannelsWithdrawalNotRequested struct {
	ChannelId [32]byte
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error WithdrawalNotRequested(bytes32 channelId)
func PaymentChannelsWithdrawalNotRequestedErrorID() common.Hash {
	return common.HexToHash("0x4005b5af9c252bd6358227ee29cb89410308a462b2a438d93ae51968a3d25f2e")
}

// UnpackWithdrawalNotRequestedError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error WithdrawalNotRequested(bytes32 channelId)
func (paymentChannels *PaymentChannels) UnpackWithdrawalNotRequestedError(raw []byte) (*PaymentChannelsWithdrawalNotRequested, error) {
	out := new(PaymentChannelsWithdrawalNotRequested)
	if err := paymentChannels.abi.UnpackIntoInterface(out, "WithdrawalNotRequested", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// PaymentChannelsWithdrawalPending represents a WithdrawalPending error raised by the PaymentChannels contract.
type PaymentChannelsWithdrawalPending struct {
	ChannelId [32]byte
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error WithdrawalPending(bytes32 channelId)
func PaymentChannelsWithdrawalPendingErrorID() common.Hash {
	return common.HexToHash("0x0ded44be9519d963906753003853ee3e337c87b5b867e41038d0e609dda6359c")
}

// UnpackWithdrawalPendingError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error WithdrawalPending(bytes32 channelId)
func (paymentChannels *PaymentChannels) UnpackWithdrawalPendingError(raw []byte) (*PaymentChannelsWithdrawalPending, error) {
	out := new(PaymentChannelsWithdrawalPending)
	if err := paymentChannels.abi.UnpackIntoInterface(out, "WithdrawalPending", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// PaymentChannelsWithdrawalTooEarly represents a WithdrawalTooEarly error raised by the PaymentChannels contract.
type PaymentChannelsWithdrawalTooEarly struct {
	ChannelId      [32]byte
	WithdrawableAt uint64
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error WithdrawalTooEarly(bytes32 channelId, uint64 withdrawableAt)
func PaymentChannelsWithdrawalTooEarlyErrorID() common.Hash {
	return common.HexToHash("0xb0510f08024fa07093614564b625df4a47b393c4444349856ea34b151e6b269a")
}

// UnpackWithdrawalTooEarlyError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error WithdrawalTooEarly(bytes32 channelId, uint64 withdrawableAt)
func (paymentChannels *PaymentChannels) UnpackWithdrawalTooEarlyError(raw []byte) (*PaymentChannelsWithdrawalTooEarly, error) {
	out := new(PaymentChannelsWithdrawalTooEarly)
	if err := paymentChannels.abi.UnpackIntoInterface(out, "WithdrawalTooEarly", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// PaymentChannelsWrongValue represents a WrongValue error raised by the PaymentChannels contract.
type PaymentChannelsWrongValue struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error WrongValue()
func PaymentChannelsWrongValueErrorID() common.Hash {
	return common.HexToHash("0x98d4901c0f97ff4fb4b12f6efe3f7d66c362a06e0786d79de1d138f816754bcd")
}

// UnpackWrongValueError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error WrongValue()
func (paymentChannels *PaymentChannels) UnpackWrongValueError(raw []byte) (*PaymentChannelsWrongValue, error) {
	out := new(PaymentChannelsWrongValue)
	if err := paymentChannels.abi.UnpackIntoInterface(out, "WrongValue", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// PaymentChannelsZeroAddress represents a ZeroAddress error raised by the PaymentChannels contract.
type PaymentChannelsZeroAddress struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ZeroAddress()
func PaymentChannelsZeroAddressErrorID() common.Hash {
	return common.HexToHash("0xd92e233df2717d4a40030e20904abd27b68fcbeede117eaaccbbdac9618c8c73")
}

// UnpackZeroAddressError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ZeroAddress()
func (paymentChannels *PaymentChannels) UnpackZeroAddressError(raw []byte) (*PaymentChannelsZeroAddress, error) {
	out := new(PaymentChannelsZeroAddress)
	if err := paymentChannels.abi.UnpackIntoInterface(out, "ZeroAddress", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// PaymentChannelsZeroAmount represents a ZeroAmount error raised by the PaymentChannels contract.
type PaymentChannelsZeroAmount struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ZeroAmount()
func PaymentChannelsZeroAmountErrorID() common.Hash {
	return common.HexToHash("0x1f2a2005cb66a8e145327e8814e243a0996aec9bfe1e15a495778b1236dbd485")
}

// UnpackZeroAmountError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ZeroAmount()
func (paymentChannels *PaymentChannels) UnpackZeroAmountError(raw []byte) (*PaymentChannelsZeroAmount, error) {
	out := new(PaymentChannelsZeroAmount)
	if err := paymentChannels.abi.UnpackIntoInterface(out, "ZeroAmount", raw); err != nil {
		return nil, err
	}
	return out, nil
}
