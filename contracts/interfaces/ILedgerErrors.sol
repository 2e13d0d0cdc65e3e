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

    /// @dev `account` is not a valid member address (the zero address).
    error InvalidMemberAddress(address account);

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

    /// @dev The parts and receivers of a split differ in length.
    error PartListMismatch(uint256 amounts, uint256 receivers);

    /// @dev A part of `amount` must be less than the certificate's `faceValue`; move it whole instead.
    error PartNotLessThanFace(uint256 id, uint256 faceValue, uint256 amount);

    /// @dev Passing certificate `id` on would take it to `hops`, above the limit of `maxHops`.
    error HopLimitExceeded(uint256 id, uint256 hops, uint256 maxHops);
}
