// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {CertificateLedger} from "./CertificateLedger.sol";
import {ILedgerErrors} from "./interfaces/ILedgerErrors.sol";

/**
 * @title SettlementDesk
 * @notice Where certificates are financed and paid, in the ledger's settlement token:
 *
 * - Discounting, delivery versus payment: a financier quotes by signing an EIP-712
 *   {Offer} off chain; the holder accepts it with {acceptOffer}, and in that one
 *   transaction the desk prices the certificate itself, the financier pays the holder
 *   and the certificate passes to the financier as financed. All of it, or nothing.
 * - Settlement: from the maturity day, the obligor pays every holder the face value
 *   ({settle}, in batches), or a holder presents its certificate ({present}).
 * - Overdue and recourse: after the grace period anyone may mark unpaid certificates
 *   overdue; a financier who bought with recourse can then claim the face value from
 *   the seller, who on paying takes the certificate back.
 *
 * Members approve this desk, not the ledger, to draw their tokens. The ledger trusts
 * the desk through its `SETTLEMENT_ROLE`, and the desk trusts the ledger's operator.
 *
 * Rates are integers in units of 1e-8 a year (3.85% is 3_850_000). Interest is simple
 * discount interest, `face * rate * days / (basis * 1e8)`, rounded half up to the minor
 * unit, where `days` runs from today (UTC) to the maturity day.
 */
contract SettlementDesk is EIP712, ILedgerErrors {
    using SafeERC20 for IERC20;

    /**
     * @notice A financier's signed quote to buy up to `amount` (minor units of face
     * value) of certificate `certificateId` from `seller` at `annualRate` (units of 1e-8
     * a year) on a `dayCount` basis (360 or 365), until `expiresAt` (unix seconds,
     * inclusive), with or without `recourse` to the seller. Only `seller` can accept it:
     * the financier chose whom it buys from, and, with recourse, whom it may claim
     * against. The financier priced `amount` and no more, so no acceptance may sell it
     * more. Each `nonce` of a financier can be accepted or withdrawn once.
     */
    struct Offer {
        uint256 certificateId;
        uint256 amount;
        address financier;
        address seller;
        uint256 annualRate;
        uint256 dayCount;
        uint256 expiresAt;
        bool recourse;
        uint256 nonce;
    }

    enum RecourseClaimStatus {
        None,
        Recorded,
        Paid
    }

    bytes32 public constant OFFER_TYPEHASH = keccak256(
        "Offer(uint256 certificateId,uint256 amount,address financier,address seller,uint256 annualRate,uint256 dayCount,uint256 expiresAt,bool recourse,uint256 nonce)"
    );
    uint256 public constant RATE_SCALE = 1e8;
    /// @notice The highest annual rate an offer may carry: 100% a year.
    uint256 public constant MAX_ANNUAL_RATE = RATE_SCALE;
    /// @notice The most certificates one call may settle or mark overdue.
    uint256 public constant MAX_BATCH = 200;
    uint256 public constant DEFAULT_GRACE_DAYS = 3;
    bytes32 private constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    CertificateLedger private immutable _ledger;
    IERC20 private immutable _token;

    /// @dev One bit per offer nonce, 256 to a word, so that a financier numbering its
    /// offers in order pays for a fresh storage slot only once every 256 offers.
    mapping(address financier => mapping(uint256 word => uint256 bits)) private _usedNonces;
    /// @dev Recourse claims; the seller they run against is on the ledger ({CertificateLedger-recourseSeller}).
    mapping(uint256 id => RecourseClaimStatus) private _claims;
    uint256 private _graceDays = DEFAULT_GRACE_DAYS;

    /// @dev `seller` sold certificate `id` to `financier` under offer `nonce`, for `price`.
    event OfferAccepted(
        uint256 indexed id,
        address indexed financier,
        address indexed seller,
        uint256 nonce,
        uint256 faceValue,
        uint256 price,
        uint256 annualRate,
        uint256 dayCount,
        uint256 daysToMaturity,
        bool recourse
    );
    event OfferWithdrawn(address indexed financier, uint256 indexed nonce);
    event GracePeriodSet(uint256 graceDays);
    event RecourseClaimRecorded(uint256 indexed id, address indexed financier, address indexed seller, uint256 amount);
    event RecourseClaimPaid(uint256 indexed id, address indexed financier, address indexed seller, uint256 amount);

    modifier onlyOperator() {
        if (!_ledger.hasRole(OPERATOR_ROLE, msg.sender)) {
            revert IAccessControl.AccessControlUnauthorizedAccount(msg.sender, OPERATOR_ROLE);
        }
        _;
    }

    /// @param certificateLedger the ledger this desk serves; its settlement token is the desk's.
    constructor(CertificateLedger certificateLedger) EIP712("scf-chain settlement desk", "1") {
        _ledger = certificateLedger;
        _token = certificateLedger.settlementToken();
    }

    // Discounting

    /**
     * @notice Accepts `offer`, signed by its financier, for the caller's certificate:
     * the whole of it when `amount` is 0 or the face value, else a part of `amount`
     * split off it, the remainder staying with the caller; either way no more than the
     * offer's own amount. In this one transaction the
     * desk prices what is sold, the financier pays the price to the caller, and the
     * certificate passes to the financier as financed.
     *
     * Emits an {OfferAccepted} event, besides the ledger's and the token's.
     *
     * Requirements:
     * - the offer has not expired, nor been accepted or withdrawn;
     * - `signature` is the financier's over the offer, for this chain and desk;
     * - the caller is the offer's seller, and holds the certificate, which is active,
     *   not frozen and not matured;
     * - what is sold is at most the offer's amount;
     * - the financier is an active financier and has approved the desk for the price.
     *
     * @return financedId the certificate the financier bought.
     * @return price what the financier paid, in minor units.
     */
    function acceptOffer(
        Offer calldata offer,
        bytes calldata signature,
        uint256 amount
    ) external returns (uint256 financedId, uint256 price) {
        if (msg.sender != offer.seller) revert NotOfferSeller(msg.sender, offer.seller);
        _useOffer(offer, signature);
        uint256 faceValue;
        uint256 maturityDay;
        (financedId, faceValue, maturityDay) = _ledger.finance(
            msg.sender,
            offer.certificateId,
            amount,
            offer.financier,
            offer.recourse
        );
        if (faceValue > offer.amount) {
            revert FinanceAmountAboveOffer(offer.financier, offer.nonce, offer.amount, faceValue);
        }
        price = _buy(offer, financedId, faceValue, maturityDay - block.timestamp / 1 days);
    }

    /**
     * @notice Withdraws `offer` before anyone accepts it: its nonce is spent.
     *
     * Emits an {OfferWithdrawn} event.
     *
     * Requirements:
     * - the caller is the offer's financier, and the offer was neither accepted nor withdrawn.
     */
    function withdrawOffer(Offer calldata offer) external {
        if (msg.sender != offer.financier) revert NotOfferFinancier(msg.sender, offer.financier);
        _useNonce(msg.sender, offer.nonce);
        emit OfferWithdrawn(msg.sender, offer.nonce);
    }

    /**
     * @notice Withdraws the caller's offer numbered `nonce`, whatever its terms.
     *
     * Emits an {OfferWithdrawn} event.
     *
     * Requirements:
     * - the offer was neither accepted nor withdrawn.
     */
    function withdrawOfferNonce(uint256 nonce) external {
        _useNonce(msg.sender, nonce);
        emit OfferWithdrawn(msg.sender, nonce);
    }

    /// @notice The EIP-712 digest a financier signs for `offer`, bound to this chain and desk.
    function hashOffer(Offer calldata offer) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(OFFER_TYPEHASH, offer)));
    }

    /// @notice Whether `financier`'s offer numbered `nonce` was accepted or withdrawn.
    function offerNonceUsed(address financier, uint256 nonce) external view returns (bool) {
        return _usedNonces[financier][nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    /**
     * @notice The discount interest and the price of `faceValue` minor units at
     * `annualRate` on a `dayCount` basis, `daysToMaturity` days before maturity.
     *
     * Requirements:
     * - `dayCount` is 360 or 365, and `annualRate` at most {MAX_ANNUAL_RATE};
     * - `faceValue` is within the ledger's range, and the interest below it.
     */
    function quote(
        uint256 faceValue,
        uint256 annualRate,
        uint256 dayCount,
        uint256 daysToMaturity
    ) external pure returns (uint256 interest, uint256 price) {
        _requireTerms(annualRate, dayCount);
        if (faceValue > type(uint64).max) revert FaceValueTooLarge(faceValue, type(uint64).max);
        return _discount(faceValue, annualRate, dayCount, daysToMaturity);
    }

    // Settlement

    /**
     * @notice Pays certificates `ids` of issuance `rootId`, from its maturity day: each
     * holder receives the face value from the caller, the obligor, and each certificate
     * is retired as settled. Certificates settled already are skipped.
     *
     * Requirements:
     * - at most {MAX_BATCH} ids;
     * - the caller is the issuance's active obligor, and it has matured;
     * - every certificate belongs to the issuance and is active, financed, overdue or
     *   settled, not frozen, and held by an active member;
     * - the caller has approved the desk for the total.
     *
     * @return total what the caller paid, in minor units.
     */
    function settle(uint256 rootId, uint256[] calldata ids) external returns (uint256 total) {
        _requireBatch(ids.length);
        // slither-disable-next-line unused-return (the obligor is the caller: the ledger reverts otherwise)
        (, address[] memory holders, uint256[] memory amounts) = _ledger.settle(msg.sender, rootId, ids, false);
        for (uint256 i = 0; i < amounts.length; ++i) {
            uint256 amount = amounts[i];
            if (amount == 0) continue;
            total += amount;
            _token.safeTransferFrom(msg.sender, holders[i], amount);
        }
    }

    /**
     * @notice Presents the caller's matured certificate `id` for payment: its face
     * value is drawn from the obligor's allowance to the desk, and it is settled.
     *
     * Requirements:
     * - the caller holds the certificate, which is active, financed or overdue, not frozen;
     * - its issuance has matured, and the obligor has approved the desk for the face value.
     *
     * @return amount what the caller received, in minor units.
     */
    function present(uint256 id) external returns (uint256 amount) {
        uint256[] memory ids = new uint256[](1);
        ids[0] = id;
        // slither-disable-next-line unused-return (every holder is the caller: presented, the ledger reverts otherwise)
        (address obligor, , uint256[] memory amounts) = _ledger.settle(
            msg.sender,
            _ledger.certificate(id).rootId,
            ids,
            true
        );
        amount = amounts[0];
        _token.safeTransferFrom(obligor, msg.sender, amount);
    }

    /**
     * @notice Marks certificates `ids` of issuance `rootId` overdue, once its maturity
     * day and the grace period have passed. Anyone may call it.
     *
     * Requirements:
     * - at most {MAX_BATCH} ids, each of the issuance, active or financed (overdue and
     *   settled ones are skipped), and not frozen.
     */
    function markOverdue(uint256 rootId, uint256[] calldata ids) external {
        _requireBatch(ids.length);
        _ledger.markOverdue(rootId, ids, _graceDays);
    }

    /**
     * @notice Sets the grace period: the days after maturity before an unpaid
     * certificate can be marked overdue.
     *
     * Emits a {GracePeriodSet} event.
     *
     * Requirements:
     * - the caller holds the ledger's `OPERATOR_ROLE`.
     */
    function setGracePeriod(uint16 graceDays) external onlyOperator {
        _graceDays = graceDays;
        emit GracePeriodSet(graceDays);
    }

    /// @notice The grace period, in days after maturity.
    function gracePeriod() external view returns (uint256) {
        return _graceDays;
    }

    // Recourse

    /**
     * @notice Records the caller's recourse claim on overdue certificate `id` against
     * the member who sold it to the caller with recourse.
     *
     * Emits a {RecourseClaimRecorded} event.
     *
     * Requirements:
     * - the certificate was financed with recourse, is overdue and held by the caller;
     * - no claim on it was recorded yet.
     */
    function recordRecourseClaim(uint256 id) external {
        address seller = _requireClaim(id, RecourseClaimStatus.None);
        CertificateLedger.CertificateView memory cert = _requireOverdue(id);
        if (cert.holder != msg.sender) revert NotCertificateHolder(id, msg.sender);
        _claims[id] = RecourseClaimStatus.Recorded;
        emit RecourseClaimRecorded(id, msg.sender, seller, cert.faceValue);
    }

    /**
     * @notice Pays the recourse claim on certificate `id`: the caller, its seller, pays
     * the financier the face value and takes the certificate back, still overdue, with
     * the claim on the obligor.
     *
     * Emits a {RecourseClaimPaid} event.
     *
     * Requirements:
     * - a claim on the certificate is recorded and unpaid, and the caller is its seller;
     * - the certificate is still overdue;
     * - the caller has approved the desk for the face value.
     */
    function payRecourseClaim(uint256 id) external {
        if (_requireClaim(id, RecourseClaimStatus.Recorded) != msg.sender) revert NotRecourseSeller(id, msg.sender);
        CertificateLedger.CertificateView memory cert = _requireOverdue(id);
        _claims[id] = RecourseClaimStatus.Paid;
        _ledger.transferOnRecourse(id, msg.sender);
        emit RecourseClaimPaid(id, cert.holder, msg.sender, cert.faceValue);
        _token.safeTransferFrom(msg.sender, cert.holder, cert.faceValue);
    }

    /// @notice The seller of certificate `id` and the status of the recourse claim on them; no seller without recourse.
    function recourseOf(uint256 id) external view returns (address seller, RecourseClaimStatus claim) {
        return (_ledger.recourseSeller(id), _claims[id]);
    }

    // Reads

    /// @notice The ledger this desk serves.
    function ledger() external view returns (CertificateLedger) {
        return _ledger;
    }

    /// @notice The token the desk pays in: the ledger's settlement token.
    function settlementToken() external view returns (IERC20) {
        return _token;
    }

    // Internals

    /**
     * @dev Simple discount interest rounded half up to the minor unit, and the price
     * left: `interest = (2 * face * rate * days + basis * 1e8) / (2 * basis * 1e8)`.
     */
    function _discount(
        uint256 faceValue,
        uint256 annualRate,
        uint256 dayCount,
        uint256 daysToMaturity
    ) private pure returns (uint256 interest, uint256 price) {
        uint256 denominator = dayCount * RATE_SCALE;
        interest = (2 * faceValue * annualRate * daysToMaturity + denominator) / (2 * denominator);
        if (interest >= faceValue) revert InterestNotBelowFace(faceValue, interest);
        price = faceValue - interest;
    }

    function _requireTerms(uint256 annualRate, uint256 dayCount) private pure {
        if (dayCount != 360 && dayCount != 365) revert InvalidDayCount(dayCount);
        if (annualRate > MAX_ANNUAL_RATE) revert AnnualRateTooHigh(annualRate, MAX_ANNUAL_RATE);
    }

    /**
     * @dev Spends `offer`, checking that it is in force and signed by its financier.
     *
     * Requirements:
     * - the offer has not expired, and its terms are valid;
     * - `signature` is the financier's over the offer, for this chain and desk;
     * - its nonce was neither accepted nor withdrawn.
     */
    function _useOffer(Offer calldata offer, bytes calldata signature) private {
        address financier = offer.financier;
        if (block.timestamp > offer.expiresAt) {
            revert OfferExpired(financier, offer.nonce, offer.expiresAt, block.timestamp);
        }
        _requireTerms(offer.annualRate, offer.dayCount);
        if (!SignatureChecker.isValidSignatureNowCalldata(financier, hashOffer(offer), signature)) {
            revert InvalidOfferSignature(financier);
        }
        _useNonce(financier, offer.nonce);
    }

    /**
     * @dev Prices certificate `id` of `faceValue`, bought under `offer` `daysToMaturity`
     * days before maturity, and has the financier pay the price to the caller, the seller.
     *
     * Emits an {OfferAccepted} event.
     */
    function _buy(
        Offer calldata offer,
        uint256 id,
        uint256 faceValue,
        uint256 daysToMaturity
    ) private returns (uint256 price) {
        (, price) = _discount(faceValue, offer.annualRate, offer.dayCount, daysToMaturity);
        emit OfferAccepted(
            id,
            offer.financier,
            msg.sender,
            offer.nonce,
            faceValue,
            price,
            offer.annualRate,
            offer.dayCount,
            daysToMaturity,
            offer.recourse
        );
        // slither-disable-next-line arbitrary-send-erc20 (the financier signed the offer for it, checked in _useOffer)
        _token.safeTransferFrom(offer.financier, msg.sender, price);
    }

    /// @dev Spends `financier`'s offer nonce `nonce`; reverts if it was spent already.
    function _useNonce(address financier, uint256 nonce) private {
        mapping(uint256 => uint256) storage words = _usedNonces[financier];
        uint256 bit = 1 << (nonce & 0xff);
        uint256 word = words[nonce >> 8];
        if (word & bit != 0) revert OfferNonceUsed(financier, nonce);
        words[nonce >> 8] = word | bit;
    }

    function _requireBatch(uint256 count) private pure {
        if (count > MAX_BATCH) revert BatchTooLarge(count, MAX_BATCH);
    }

    /// @dev Reverts unless certificate `id` was bought with recourse and its claim is `claim`; returns the seller.
    function _requireClaim(uint256 id, RecourseClaimStatus claim) private view returns (address seller) {
        seller = _ledger.recourseSeller(id);
        if (seller == address(0)) revert NotFinancedWithRecourse(id);
        RecourseClaimStatus status = _claims[id];
        if (status != claim) revert RecourseClaimWrongStatus(id, uint8(status), uint8(claim));
    }

    function _requireOverdue(uint256 id) private view returns (CertificateLedger.CertificateView memory cert) {
        cert = _ledger.certificate(id);
        if (cert.status != CertificateLedger.CertificateStatus.Overdue) {
            revert CertificateWrongStatus(id, uint8(cert.status), uint8(CertificateLedger.CertificateStatus.Overdue));
        }
    }
}
