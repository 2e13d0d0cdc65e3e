// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @dev Every custom error of the scf-chain ledger, in one place, so that clients can
 * decode any revert from one ABI. Each error names what went wrong and carries the
 * values that explain it.
 */
interface ILedgerErrors {
    // The ledger

    /// @dev The operator has paused the ledger.
    error LedgerPaused();

    /// @dev The ledger is not paused.
    error LedgerNotPaused();

    // Membership

    /// @dev `account` cannot be a member: it is the zero address, a contract, or holds the operator's role.
    error InvalidMemberAddress(address account);

    /// @dev `account` is a member and cannot also be granted `role`: members and the operator stay apart.
    error MemberCannotHoldRole(address account, bytes32 role);

    /// @dev Member `account` already has `name` (compared without ASCII case); names are unique.
    error MemberNameTaken(string name, address account);

    /// @dev `account` is already registered; one address holds one role.
    error MemberAlreadyRegistered(address account);

    /// @dev `account` is not a registered member.
    error NotAMember(address account);

    /// @dev `account` is frozen and can neither act, send nor receive.
    error MemberIsFrozen(address account);

    /// @dev `account` holds `actual` but the operation needs `required`.
    error WrongMemberRole(address account, uint8 required, uint8 actual);

    /// @dev `account` may not hold certificates (auditors only read).
    error ReceiverNotEligible(address account);

    /// @dev An empty legal name or identifier.
    error EmptyMemberName();

    // Credit lines

    /// @dev Issuing `amount` would take `obligor` from `outstanding` to above its `limit`.
    error CreditLineExceeded(address obligor, uint256 limit, uint256 outstanding, uint256 amount);

    // Issuance

    /// @dev A certificate must have a positive face value.
    error ZeroFaceValue();

    /// @dev `faceValue` does not fit the ledger's face value range.
    error FaceValueTooLarge(uint256 faceValue, uint256 max);

    /// @dev `maturityDay` lies before `today` (both in days since 1970-01-01 UTC).
    error MaturityInPast(uint256 maturityDay, uint256 today);

    /// @dev `maturityDay` lies after `latest`, one year from today.
    error MaturityTooFar(uint256 maturityDay, uint256 latest);

    /// @dev Every issuance must anchor the hash of its underlying document.
    error EmptyDocumentHash();

    /// @dev `documentHash` already backs issuance `rootId`; one document backs one issuance.
    error DocumentAlreadyUsed(bytes32 documentHash, uint256 rootId);

    /// @dev Every issuance must name its invoice, by the hash of its normalised number.
    error EmptyInvoiceNumber();

    /// @dev `obligor` already issued `rootId` against the invoice of `invoiceKey`; one invoice backs one issuance.
    error InvoiceAlreadyUsed(address obligor, bytes32 invoiceKey, uint256 rootId);

    // Certificates

    /// @dev No certificate has id `id`.
    error CertificateNotFound(uint256 id);

    /// @dev Certificate `id` has status `status`, and the operation needs another.
    error CertificateWrongStatus(uint256 id, uint8 status, uint8 required);

    /// @dev Certificate `id` is frozen by the operator.
    error CertificateIsFrozen(uint256 id);

    /// @dev `account` does not hold certificate `id`.
    error NotCertificateHolder(uint256 id, address account);

    /// @dev `account` is not the obligor of certificate `id`.
    error NotCertificateObligor(uint256 id, address account);

    /// @dev A split needs between 2 and 100 parts; `count` were given.
    error InvalidPartCount(uint256 count);

    /// @dev Part `index` of a split has an amount of zero.
    error ZeroPartAmount(uint256 index);

    /// @dev The part amounts of a split add up to `sum`, not to the parent's `faceValue`.
    error SplitSumMismatch(uint256 id, uint256 faceValue, uint256 sum);

    /// @dev A part of `amount` must be less than the certificate's `faceValue`; move it whole instead.
    error PartNotLessThanFace(uint256 id, uint256 faceValue, uint256 amount);

    /// @dev Passing certificate `id` on would take it to `hops`, above the limit of `maxHops`.
    error HopLimitExceeded(uint256 id, uint256 hops, uint256 maxHops);

    /// @dev Certificate `id` is already held by `holder`; a movement to oneself is refused.
    error TransferToHolder(uint256 id, address holder);

    /// @dev `obligor` owes certificate `id` and cannot hold it: it would pay itself at settlement.
    error TransferToObligor(uint256 id, address obligor);

    // Financing

    /// @dev The settlement token may not be the zero address.
    error InvalidSettlementToken(address token);

    /// @dev The offer of `financier` numbered `nonce` expired at `expiresAt` (unix seconds); it is now `time`.
    error OfferExpired(address financier, uint256 nonce, uint256 expiresAt, uint256 time);

    /// @dev The offer of `financier` numbered `nonce` was accepted or withdrawn already.
    error OfferNonceUsed(address financier, uint256 nonce);

    /// @dev The signature is not `financier`'s over this offer, on this chain and settlement desk.
    error InvalidOfferSignature(address financier);

    /// @dev `account` may not withdraw an offer of `financier`.
    error NotOfferFinancier(address account, address financier);

    /// @dev `account` may not accept an offer made to `seller`.
    error NotOfferSeller(address account, address seller);

    /// @dev A day-count basis must be 360 or 365, not `dayCount`.
    error InvalidDayCount(uint256 dayCount);

    /// @dev `annualRate` (in units of 1e-8 a year) is above the highest rate, `max`.
    error AnnualRateTooHigh(uint256 annualRate, uint256 max);

    /// @dev Discounting `faceValue` would cost `interest`, which leaves no price to pay.
    error InterestNotBelowFace(uint256 faceValue, uint256 interest);

    /// @dev `amount` to finance is more than the `faceValue` of certificate `id`.
    error FinanceAmountAboveFace(uint256 id, uint256 faceValue, uint256 amount);

    /// @dev Selling `amount` is more than the `offered` amount that `financier`'s offer numbered `nonce` was priced for.
    error FinanceAmountAboveOffer(address financier, uint256 nonce, uint256 offered, uint256 amount);

    /// @dev Certificate `id` matures on `maturityDay`, and a certificate can be financed only before; today is `today`.
    error CertificateMatured(uint256 id, uint256 maturityDay, uint256 today);

    // Settlement

    /// @dev Issuance `rootId` matures on `maturityDay`; it cannot be settled on `today`, before that.
    error NotYetMatured(uint256 rootId, uint256 maturityDay, uint256 today);

    /// @dev Certificate `id` is not an issuance but part of issuance `rootId`.
    error NotAnIssuanceRoot(uint256 id, uint256 rootId);

    /// @dev Certificate `id` does not belong to issuance `rootId`.
    error CertificateNotInIssuance(uint256 id, uint256 rootId);

    /// @dev A batch lists `count` certificates, more than the `max` one call may take.
    error BatchTooLarge(uint256 count, uint256 max);

    /// @dev Settling would take issuance `rootId` to `settled`, above its `faceValue`.
    error SettledAboveFace(uint256 rootId, uint256 faceValue, uint256 settled);

    /// @dev Issuance `rootId` becomes overdue on `overdueDay`, after the grace period; today is `today`.
    error GracePeriodNotOver(uint256 rootId, uint256 overdueDay, uint256 today);

    // Recourse

    /// @dev Certificate `id` was not financed with recourse.
    error NotFinancedWithRecourse(uint256 id);

    /// @dev The recourse claim on certificate `id` has status `status`, and the operation needs `required`.
    error RecourseClaimWrongStatus(uint256 id, uint8 status, uint8 required);

    /// @dev `account` is not the seller that recourse on certificate `id` runs against.
    error NotRecourseSeller(uint256 id, address account);
}
