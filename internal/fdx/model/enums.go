package model

import "strings"

// Enumerations of the Core Exchange 6.4 spec. Each type's Valid reports
// membership; the encoder and decoder refuse values outside the list. A test
// compares every list with the spec file.

// AccountCategory is the category of an account; the discriminator of the account and transaction shapes.
type AccountCategory string

// Valid reports whether v is one of the spec's AccountCategory values.
func (v AccountCategory) Valid() bool { _, ok := accountCategoryValues[v]; return ok }

// AccountCategory values.
const (
	AnnuityAccount    AccountCategory = "ANNUITY_ACCOUNT"
	CommercialAccount AccountCategory = "COMMERCIAL_ACCOUNT"
	DepositAccount    AccountCategory = "DEPOSIT_ACCOUNT"
	DigitalWallet     AccountCategory = "DIGITAL_WALLET"
	InsuranceAccount  AccountCategory = "INSURANCE_ACCOUNT"
	InvestmentAccount AccountCategory = "INVESTMENT_ACCOUNT"
	LoanAccount       AccountCategory = "LOAN_ACCOUNT"
	LocAccount        AccountCategory = "LOC_ACCOUNT"
)

var accountCategoryValues = setOf[AccountCategory]("ANNUITY_ACCOUNT COMMERCIAL_ACCOUNT DEPOSIT_ACCOUNT DIGITAL_WALLET INSURANCE_ACCOUNT INVESTMENT_ACCOUNT LOAN_ACCOUNT LOC_ACCOUNT")

// AccountStatus is an account's status.
type AccountStatus string

// Valid reports whether v is one of the spec's AccountStatus values.
func (v AccountStatus) Valid() bool { _, ok := accountStatusValues[v]; return ok }

// AccountStatus values.
const (
	AccountStatusClosed                 AccountStatus = "CLOSED"
	AccountStatusDelinquent             AccountStatus = "DELINQUENT"
	AccountStatusNegativeCurrentBalance AccountStatus = "NEGATIVECURRENTBALANCE"
	AccountStatusOpen                   AccountStatus = "OPEN"
	AccountStatusPaid                   AccountStatus = "PAID"
	AccountStatusPendingClose           AccountStatus = "PENDINGCLOSE"
	AccountStatusPendingOpen            AccountStatus = "PENDINGOPEN"
	AccountStatusRestricted             AccountStatus = "RESTRICTED"
)

var accountStatusValues = setOf[AccountStatus]("CLOSED DELINQUENT NEGATIVECURRENTBALANCE OPEN PAID PENDINGCLOSE PENDINGOPEN RESTRICTED")

// AccountHolderRelationship is a holder's relationship to an account.
type AccountHolderRelationship string

// Valid reports whether v is one of the spec's AccountHolderRelationship values.
func (v AccountHolderRelationship) Valid() bool {
	_, ok := accountHolderRelationshipValues[v]
	return ok
}

// AccountHolderRelationship values.
const (
	AccountHolderRelationshipAuthorizedSigner                     AccountHolderRelationship = "AUTHORIZED_SIGNER"
	AccountHolderRelationshipAuthorizedUser                       AccountHolderRelationship = "AUTHORIZED_USER"
	AccountHolderRelationshipBusiness                             AccountHolderRelationship = "BUSINESS"
	AccountHolderRelationshipForBenefitOf                         AccountHolderRelationship = "FOR_BENEFIT_OF"
	AccountHolderRelationshipForBenefitOfPrimary                  AccountHolderRelationship = "FOR_BENEFIT_OF_PRIMARY"
	AccountHolderRelationshipForBenefitOfPrimaryJointRestricted   AccountHolderRelationship = "FOR_BENEFIT_OF_PRIMARY_JOINT_RESTRICTED"
	AccountHolderRelationshipForBenefitOfSecondary                AccountHolderRelationship = "FOR_BENEFIT_OF_SECONDARY"
	AccountHolderRelationshipForBenefitOfSecondaryJointRestricted AccountHolderRelationship = "FOR_BENEFIT_OF_SECONDARY_JOINT_RESTRICTED"
	AccountHolderRelationshipForBenefitOfSoleOwnerRestricted      AccountHolderRelationship = "FOR_BENEFIT_OF_SOLE_OWNER_RESTRICTED"
	AccountHolderRelationshipPowerOfAttorney                      AccountHolderRelationship = "POWER_OF_ATTORNEY"
	AccountHolderRelationshipPrimary                              AccountHolderRelationship = "PRIMARY"
	AccountHolderRelationshipPrimaryBorrower                      AccountHolderRelationship = "PRIMARY_BORROWER"
	AccountHolderRelationshipPrimaryJoint                         AccountHolderRelationship = "PRIMARY_JOINT"
	AccountHolderRelationshipPrimaryJointTenants                  AccountHolderRelationship = "PRIMARY_JOINT_TENANTS"
	AccountHolderRelationshipSecondary                            AccountHolderRelationship = "SECONDARY"
	AccountHolderRelationshipSecondaryBorrower                    AccountHolderRelationship = "SECONDARY_BORROWER"
	AccountHolderRelationshipSecondaryJoint                       AccountHolderRelationship = "SECONDARY_JOINT"
	AccountHolderRelationshipSecondaryJointTenants                AccountHolderRelationship = "SECONDARY_JOINT_TENANTS"
	AccountHolderRelationshipSoleOwner                            AccountHolderRelationship = "SOLE_OWNER"
	AccountHolderRelationshipTrustee                              AccountHolderRelationship = "TRUSTEE"
	AccountHolderRelationshipUniformTransferToMinor               AccountHolderRelationship = "UNIFORM_TRANSFER_TO_MINOR"
)

var accountHolderRelationshipValues = setOf[AccountHolderRelationship]("AUTHORIZED_SIGNER AUTHORIZED_USER BUSINESS FOR_BENEFIT_OF FOR_BENEFIT_OF_PRIMARY FOR_BENEFIT_OF_PRIMARY_JOINT_RESTRICTED FOR_BENEFIT_OF_SECONDARY FOR_BENEFIT_OF_SECONDARY_JOINT_RESTRICTED FOR_BENEFIT_OF_SOLE_OWNER_RESTRICTED POWER_OF_ATTORNEY PRIMARY PRIMARY_BORROWER PRIMARY_JOINT PRIMARY_JOINT_TENANTS SECONDARY SECONDARY_BORROWER SECONDARY_JOINT SECONDARY_JOINT_TENANTS SOLE_OWNER TRUSTEE UNIFORM_TRANSFER_TO_MINOR")

// AssetTransferType is an asset transfer network.
type AssetTransferType string

// Valid reports whether v is one of the spec's AssetTransferType values.
func (v AssetTransferType) Valid() bool { _, ok := assetTransferTypeValues[v]; return ok }

// AssetTransferType values.
const (
	AssetTransferTypeCaAton  AssetTransferType = "CA_ATON"
	AssetTransferTypeUsAcats AssetTransferType = "US_ACATS"
	AssetTransferTypeUsDtc   AssetTransferType = "US_DTC"
)

var assetTransferTypeValues = setOf[AssetTransferType]("CA_ATON US_ACATS US_DTC")

// BusinessOrConsumer is whether a customer is a business or a consumer.
type BusinessOrConsumer string

// Valid reports whether v is one of the spec's BusinessOrConsumer values.
func (v BusinessOrConsumer) Valid() bool { _, ok := businessOrConsumerValues[v]; return ok }

// BusinessOrConsumer values.
const (
	BusinessOrConsumerBusiness BusinessOrConsumer = "BUSINESS"
	BusinessOrConsumerConsumer BusinessOrConsumer = "CONSUMER"
)

var businessOrConsumerValues = setOf[BusinessOrConsumer]("BUSINESS CONSUMER")

// CompoundingPeriod is an interest compounding period.
type CompoundingPeriod string

// Valid reports whether v is one of the spec's CompoundingPeriod values.
func (v CompoundingPeriod) Valid() bool { _, ok := compoundingPeriodValues[v]; return ok }

// CompoundingPeriod values.
const (
	CompoundingPeriodAnnually     CompoundingPeriod = "ANNUALLY"
	CompoundingPeriodBiweekly     CompoundingPeriod = "BIWEEKLY"
	CompoundingPeriodDaily        CompoundingPeriod = "DAILY"
	CompoundingPeriodMonthly      CompoundingPeriod = "MONTHLY"
	CompoundingPeriodSemiannually CompoundingPeriod = "SEMIANNUALLY"
	CompoundingPeriodSemimonthly  CompoundingPeriod = "SEMIMONTHLY"
	CompoundingPeriodWeekly       CompoundingPeriod = "WEEKLY"
)

var compoundingPeriodValues = setOf[CompoundingPeriod]("ANNUALLY BIWEEKLY DAILY MONTHLY SEMIANNUALLY SEMIMONTHLY WEEKLY")

// ContentType is a document format of a HATEOAS link.
type ContentType string

// Valid reports whether v is one of the spec's ContentType values.
func (v ContentType) Valid() bool { _, ok := contentTypeValues[v]; return ok }

// ContentType values.
const (
	ContentTypePDF  ContentType = "application/pdf"
	ContentTypeGIF  ContentType = "image/gif"
	ContentTypeJPEG ContentType = "image/jpeg"
	ContentTypeTIFF ContentType = "image/tiff"
	ContentTypePNG  ContentType = "image/png"
	ContentTypeJSON ContentType = "application/json"
)

var contentTypeValues = setOf[ContentType]("application/pdf image/gif image/jpeg image/tiff image/png application/json")

// DebitCreditMemo is the direction of a transaction.
type DebitCreditMemo string

// Valid reports whether v is one of the spec's DebitCreditMemo values.
func (v DebitCreditMemo) Valid() bool { _, ok := debitCreditMemoValues[v]; return ok }

// DebitCreditMemo values.
const (
	DebitCreditMemoCredit DebitCreditMemo = "CREDIT"
	DebitCreditMemoDebit  DebitCreditMemo = "DEBIT"
	DebitCreditMemoMemo   DebitCreditMemo = "MEMO"
)

var debitCreditMemoValues = setOf[DebitCreditMemo]("CREDIT DEBIT MEMO")

// DeliveryAddressType is the location type of an address.
type DeliveryAddressType string

// Valid reports whether v is one of the spec's DeliveryAddressType values.
func (v DeliveryAddressType) Valid() bool { _, ok := deliveryAddressTypeValues[v]; return ok }

// DeliveryAddressType values.
const (
	DeliveryAddressTypeBusiness DeliveryAddressType = "BUSINESS"
	DeliveryAddressTypeDelivery DeliveryAddressType = "DELIVERY"
	DeliveryAddressTypeHome     DeliveryAddressType = "HOME"
	DeliveryAddressTypeMailing  DeliveryAddressType = "MAILING"
)

var deliveryAddressTypeValues = setOf[DeliveryAddressType]("BUSINESS DELIVERY HOME MAILING")

// HoldingSubType is the subtype of a cash-like holding.
type HoldingSubType string

// Valid reports whether v is one of the spec's HoldingSubType values.
func (v HoldingSubType) Valid() bool { _, ok := holdingSubTypeValues[v]; return ok }

// HoldingSubType values.
const (
	HoldingSubTypeCash        HoldingSubType = "CASH"
	HoldingSubTypeMoneymarket HoldingSubType = "MONEYMARKET"
)

var holdingSubTypeValues = setOf[HoldingSubType]("CASH MONEYMARKET")

// HoldingType is the type of a holding.
type HoldingType string

// Valid reports whether v is one of the spec's HoldingType values.
func (v HoldingType) Valid() bool { _, ok := holdingTypeValues[v]; return ok }

// HoldingType values.
const (
	HoldingTypeAnnuity      HoldingType = "ANNUITY"
	HoldingTypeBond         HoldingType = "BOND"
	HoldingTypeCd           HoldingType = "CD"
	HoldingTypeDigitalAsset HoldingType = "DIGITALASSET"
	HoldingTypeMutualFund   HoldingType = "MUTUALFUND"
	HoldingTypeOption       HoldingType = "OPTION"
	HoldingTypeOther        HoldingType = "OTHER"
	HoldingTypeStock        HoldingType = "STOCK"
)

var holdingTypeValues = setOf[HoldingType]("ANNUITY BOND CD DIGITALASSET MUTUALFUND OPTION OTHER STOCK")

// HTTPAction is the HTTP method of a HATEOAS link.
type HTTPAction string

// Valid reports whether v is one of the spec's HTTPAction values.
func (v HTTPAction) Valid() bool { _, ok := hTTPActionValues[v]; return ok }

// HTTPAction values.
const (
	HTTPActionGet    HTTPAction = "GET"
	HTTPActionPost   HTTPAction = "POST"
	HTTPActionPatch  HTTPAction = "PATCH"
	HTTPActionDelete HTTPAction = "DELETE"
	HTTPActionPut    HTTPAction = "PUT"
)

var hTTPActionValues = setOf[HTTPAction]("GET POST PATCH DELETE PUT")

// InterestRateType is whether a rate is fixed, indexed or variable.
type InterestRateType string

// Valid reports whether v is one of the spec's InterestRateType values.
func (v InterestRateType) Valid() bool { _, ok := interestRateTypeValues[v]; return ok }

// InterestRateType values.
const (
	InterestRateTypeFixed    InterestRateType = "FIXED"
	InterestRateTypeIndexed  InterestRateType = "INDEXED"
	InterestRateTypeVariable InterestRateType = "VARIABLE"
)

var interestRateTypeValues = setOf[InterestRateType]("FIXED INDEXED VARIABLE")

// PaymentNetworkIdentifierType is how an account is identified in an asset transfer network.
type PaymentNetworkIdentifierType string

// Valid reports whether v is one of the spec's PaymentNetworkIdentifierType values.
func (v PaymentNetworkIdentifierType) Valid() bool {
	_, ok := paymentNetworkIdentifierTypeValues[v]
	return ok
}

// PaymentNetworkIdentifierType values.
const (
	PaymentNetworkIdentifierTypeAccountNumber          PaymentNetworkIdentifierType = "ACCOUNT_NUMBER"
	PaymentNetworkIdentifierTypeTokenizedAccountNumber PaymentNetworkIdentifierType = "TOKENIZED_ACCOUNT_NUMBER"
)

var paymentNetworkIdentifierTypeValues = setOf[PaymentNetworkIdentifierType]("ACCOUNT_NUMBER TOKENIZED_ACCOUNT_NUMBER")

// PaymentNetworkType is a payment network.
type PaymentNetworkType string

// Valid reports whether v is one of the spec's PaymentNetworkType values.
func (v PaymentNetworkType) Valid() bool { _, ok := paymentNetworkTypeValues[v]; return ok }

// PaymentNetworkType values.
const (
	PaymentNetworkTypeCaAcss    PaymentNetworkType = "CA_ACSS"
	PaymentNetworkTypeCaLvts    PaymentNetworkType = "CA_LVTS"
	PaymentNetworkTypeUsAch     PaymentNetworkType = "US_ACH"
	PaymentNetworkTypeUsChips   PaymentNetworkType = "US_CHIPS"
	PaymentNetworkTypeUsFednow  PaymentNetworkType = "US_FEDNOW"
	PaymentNetworkTypeUsFedwire PaymentNetworkType = "US_FEDWIRE"
	PaymentNetworkTypeUsRtp     PaymentNetworkType = "US_RTP"
)

var paymentNetworkTypeValues = setOf[PaymentNetworkType]("CA_ACSS CA_LVTS US_ACH US_CHIPS US_FEDNOW US_FEDWIRE US_RTP")

// PositionType is the side of a tax lot.
type PositionType string

// Valid reports whether v is one of the spec's PositionType values.
func (v PositionType) Valid() bool { _, ok := positionTypeValues[v]; return ok }

// PositionType values.
const (
	PositionTypeLong  PositionType = "LONG"
	PositionTypeShort PositionType = "SHORT"
)

var positionTypeValues = setOf[PositionType]("LONG SHORT")

// ScheduledPaymentType is the type of a scheduled payment.
type ScheduledPaymentType string

// Valid reports whether v is one of the spec's ScheduledPaymentType values.
func (v ScheduledPaymentType) Valid() bool { _, ok := scheduledPaymentTypeValues[v]; return ok }

// ScheduledPaymentType values.
const (
	ScheduledPaymentTypeAutopay   ScheduledPaymentType = "AUTOPAY"
	ScheduledPaymentTypeOneTime   ScheduledPaymentType = "ONE_TIME"
	ScheduledPaymentTypeRepeating ScheduledPaymentType = "REPEATING"
)

var scheduledPaymentTypeValues = setOf[ScheduledPaymentType]("AUTOPAY ONE_TIME REPEATING")

// SecurityIDType is the kind of a security identifier.
type SecurityIDType string

// Valid reports whether v is one of the spec's SecurityIDType values.
func (v SecurityIDType) Valid() bool { _, ok := securityIDTypeValues[v]; return ok }

// SecurityIDType values.
const (
	SecurityIDTypeCins   SecurityIDType = "CINS"
	SecurityIDTypeCmc    SecurityIDType = "CMC"
	SecurityIDTypeCme    SecurityIDType = "CME"
	SecurityIDTypeCusip  SecurityIDType = "CUSIP"
	SecurityIDTypeIsin   SecurityIDType = "ISIN"
	SecurityIDTypeItsa   SecurityIDType = "ITSA"
	SecurityIDTypeNasdaq SecurityIDType = "NASDAQ"
	SecurityIDTypeSedol  SecurityIDType = "SEDOL"
	SecurityIDTypeSicc   SecurityIDType = "SICC"
	SecurityIDTypeValor  SecurityIDType = "VALOR"
	SecurityIDTypeWkn    SecurityIDType = "WKN"
)

var securityIDTypeValues = setOf[SecurityIDType]("CINS CMC CME CUSIP ISIN ITSA NASDAQ SEDOL SICC VALOR WKN")

// SecurityType is the type of a security in an investment transaction.
type SecurityType string

// Valid reports whether v is one of the spec's SecurityType values.
func (v SecurityType) Valid() bool { _, ok := securityTypeValues[v]; return ok }

// SecurityType values.
const (
	SecurityTypeBond         SecurityType = "BOND"
	SecurityTypeDebt         SecurityType = "DEBT"
	SecurityTypeMutualFund   SecurityType = "MUTUALFUND"
	SecurityTypeDigitalAsset SecurityType = "DIGITALASSET"
	SecurityTypeOption       SecurityType = "OPTION"
	SecurityTypeOther        SecurityType = "OTHER"
	SecurityTypeStock        SecurityType = "STOCK"
	SecurityTypeSweep        SecurityType = "SWEEP"
)

var securityTypeValues = setOf[SecurityType]("BOND DEBT MUTUALFUND DIGITALASSET OPTION OTHER STOCK SWEEP")

// TelephoneNetwork is the network technology of a telephone.
type TelephoneNetwork string

// Valid reports whether v is one of the spec's TelephoneNetwork values.
func (v TelephoneNetwork) Valid() bool { _, ok := telephoneNetworkValues[v]; return ok }

// TelephoneNetwork values.
const (
	TelephoneNetworkCellular  TelephoneNetwork = "CELLULAR"
	TelephoneNetworkLandline  TelephoneNetwork = "LANDLINE"
	TelephoneNetworkPager     TelephoneNetwork = "PAGER"
	TelephoneNetworkSatellite TelephoneNetwork = "SATELLITE"
	TelephoneNetworkVoip      TelephoneNetwork = "VOIP"
)

var telephoneNetworkValues = setOf[TelephoneNetwork]("CELLULAR LANDLINE PAGER SATELLITE VOIP")

// TelephoneNumberPurpose is the purpose of a telephone number (CELL is deprecated).
type TelephoneNumberPurpose string

// Valid reports whether v is one of the spec's TelephoneNumberPurpose values.
func (v TelephoneNumberPurpose) Valid() bool { _, ok := telephoneNumberPurposeValues[v]; return ok }

// TelephoneNumberPurpose values.
const (
	TelephoneNumberPurposeBoth     TelephoneNumberPurpose = "BOTH"
	TelephoneNumberPurposeBusiness TelephoneNumberPurpose = "BUSINESS"
	TelephoneNumberPurposeCell     TelephoneNumberPurpose = "CELL"
	TelephoneNumberPurposeFax      TelephoneNumberPurpose = "FAX"
	TelephoneNumberPurposeHome     TelephoneNumberPurpose = "HOME"
	TelephoneNumberPurposePersonal TelephoneNumberPurpose = "PERSONAL"
)

var telephoneNumberPurposeValues = setOf[TelephoneNumberPurpose]("BOTH BUSINESS CELL FAX HOME PERSONAL")

// TransactionStatus is the status of a transaction.
type TransactionStatus string

// Valid reports whether v is one of the spec's TransactionStatus values.
func (v TransactionStatus) Valid() bool { _, ok := transactionStatusValues[v]; return ok }

// TransactionStatus values.
const (
	TransactionStatusAuthorization TransactionStatus = "AUTHORIZATION"
	TransactionStatusMemo          TransactionStatus = "MEMO"
	TransactionStatusPending       TransactionStatus = "PENDING"
	TransactionStatusPosted        TransactionStatus = "POSTED"
)

var transactionStatusValues = setOf[TransactionStatus]("AUTHORIZATION MEMO PENDING POSTED")

// UnitType is the units of an investment transaction.
type UnitType string

// Valid reports whether v is one of the spec's UnitType values.
func (v UnitType) Valid() bool { _, ok := unitTypeValues[v]; return ok }

// UnitType values.
const (
	UnitTypeCurrency UnitType = "CURRENCY"
	UnitTypeShares   UnitType = "SHARES"
)

var unitTypeValues = setOf[UnitType]("CURRENCY SHARES")

// Account types per category. accountType's allowed values depend on
// accountCategory, so they are checked by the account's own rules.
var (
	depositAccountTypes          = setOf[string]("CHECKING SAVINGS CD ESCROW MONEYMARKET HIGHINTERESTSAVINGSACCOUNT FIRSTHOMESAVINGSACCOUNT OTHERDEPOSIT")                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                   // DepositAccountType
	digitalWalletTypes           = setOf[string]("DIGITALWALLET")                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                            // DigitalWalletType
	loanAccountTypes             = setOf[string]("AUTOLOAN HOMEEQUITYLOAN INSTALLMENT LOAN MILITARYLOAN MORTGAGE PERSONALLOAN SMBLOAN STUDENTLOAN")                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                          // LoanAccountType
	lineOfCreditAccountTypes     = setOf[string]("LINEOFCREDIT CHARGE CREDITCARD HOMELINEOFCREDIT")                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                          // LineOfCreditAccountType
	investmentAccountTypes       = setOf[string]("401A 401K 403B 529 BROKERAGEPRODUCT COVERDELL DIGITALASSET DEFINEDBENEFIT DEFERREDPROFITSHARINGPLAN ESOP GUARDIAN INDIVIDUALPENSIONPLAN INSTITUTIONALTRUST INVESTMENTACCOUNT IRA KEOGH LIFEINCOMEFUND LOCKEDINRETIREMENTACCOUNT LOCKEDINRETIREMENTINCOMEFUND LOCKEDINRETIREMENTSAVINGSPLAN NONQUALIFIEDPLAN NONQUALIFEDPLAN OTHERINVESTMENT ROLLOVER ROTH PRESCRIBEDREGISTEREDRETIREMENTINCOMEFUND PREPAID REGISTEREDPENSIONPLAN REGISTEREDDISABILITYSAVINGSPLAN REGISTEREDEDUCATIONSAVINGSPLAN REGISTEREDRETIREMENTINCOMEFUND REGISTEREDRETIREMENTSAVINGSPLAN RESTRICTEDLIFEINCOMEFUND RESTRICTEDLOCKEDINSAVINGSPLAN SPECIFIEDPENSIONPLAN SARSEP TAXABLE TAXFREESAVINGSACCOUNT TDA TRUST TERM UGMA UTMA VARIABLEANNUITY") // InvestmentAccountType
	insuranceAccountTypes        = setOf[string]("LONGTERMDISABILITY SHORTTERMDISABILITY UNIVERSALLIFE WHOLELIFE")                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                           // InsuranceAccountType
	annuityAccountTypes          = setOf[string]("ANNUITY FIXEDANNUITY VARIABLEANNUITY")                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                     // AnnuityAccountType
	commercialAccountTypes       = setOf[string]("COMMERCIALDEPOSIT COMMERCIALINVESTMENT COMMERCIALLOAN COMMERCIALLINEOFCREDIT")                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                             // CommercialAccountType
	investmentTransactionTypes   = setOf[string]("ADJUSTMENT ATM CASH CHECK CLOSURE CLOSUREOPT CONTRIBUTION DEP DEPOSIT DIRECTDEBIT DIRECTDEP DIV DIVIDEND DIVIDENDREINVEST EXPENSE FEE INCOME INTEREST INVEXPENSE JRNLFUND JRNLSEC MARGININTEREST OPTIONEXERCISE OPTIONEXPIRATION OTHER PAYMENT POS PURCHASED PURCHASEDTOCOVER PURCHASETOCLOSE PURCHASETOOPEN REINVESTOFINCOME REPEATPMT RETURNOFCAPITAL SOLD SOLDTOCLOSE SOLDTOOPEN SPLIT SRVCHG TRANSFER XFER")                                                                                                                                                                                                                                                                                                           // InvestmentTransactionType
	loanTransactionTypes         = setOf[string]("ADJUSTMENT FEE INTEREST PAYMENT LUMP_SUM_PAYMENT SKIP_PAYMENT DOUBLE_UP_PAYMENT PAYOFF")                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                   // LoanTransactionType
	lineOfCreditTransactionTypes = setOf[string]("ADJUSTMENT CHECK FEE INTEREST PAYMENT WITHDRAWAL PURCHASE")                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                // LineOfCreditTransactionType
)

func setOf[T ~string](words string) map[T]struct{} {
	m := map[T]struct{}{}
	for _, w := range strings.Fields(words) {
		m[T(w)] = struct{}{}
	}
	return m
}
