// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ILedgerErrors} from "./interfaces/ILedgerErrors.sol";

/**
 * @dev The consortium's member registry: who may act on the ledger, in which role,
 * and whether they are frozen. The consortium operator (`OPERATOR_ROLE`) onboards
 * and freezes members. Each address holds exactly one member role, for good.
 */
abstract contract MemberRegistry is AccessControl, ILedgerErrors {
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    enum MemberRole {
        None,
        CoreEnterprise,
        Supplier,
        Financier,
        Auditor
    }

    /// @dev `index` numbers members from 1 in order of registration, so that a
    /// certificate can name its holder in 4 bytes of its single storage slot.
    struct Member {
        MemberRole role;
        bool frozen;
        uint32 index;
    }

    mapping(address account => Member) private _members;
    mapping(uint256 index => address) private _memberAddresses;
    mapping(address account => string) private _memberNames;
    // Keyed by the name with ASCII letters in lower case, so that "ACME" cannot join beside "Acme".
    mapping(bytes32 nameKey => address) private _membersByName;
    uint32 private _memberCount;

    event MemberRegistered(address indexed account, MemberRole indexed role, string name);
    event MemberFrozen(address indexed account);
    event MemberUnfrozen(address indexed account);

    constructor(address operator) {
        _grantRole(DEFAULT_ADMIN_ROLE, operator);
        _grantRole(OPERATOR_ROLE, operator);
    }

    /**
     * @notice Registers `account` as an active member with `role` and its legal name or identifier.
     *
     * Emits a {MemberRegistered} event.
     *
     * Requirements:
     * - the caller holds `OPERATOR_ROLE`;
     * - `account` is not the zero address, a contract (the ledger, its desk, its token) or
     *   an operator or admin, and is not registered yet;
     * - `role` is not `None`, and `name` is not empty and not another member's name.
     */
    function registerMember(address account, MemberRole role, string calldata name) external onlyRole(OPERATOR_ROLE) {
        // A member's keys can be frozen and rotated; the operator's and the contracts' must never be.
        if (account == address(0) || account.code.length != 0 || _isOperator(account)) {
            revert InvalidMemberAddress(account);
        }
        if (_members[account].role != MemberRole.None) revert MemberAlreadyRegistered(account);
        if (role == MemberRole.None) revert WrongMemberRole(account, uint8(MemberRole.Supplier), uint8(role));
        if (bytes(name).length == 0) revert EmptyMemberName();
        bytes32 nameKey = _nameKey(name);
        address namedMember = _membersByName[nameKey];
        if (namedMember != address(0)) revert MemberNameTaken(_memberNames[namedMember], namedMember);
        uint32 index = ++_memberCount;
        _members[account] = Member({role: role, frozen: false, index: index});
        _memberAddresses[index] = account;
        _memberNames[account] = name;
        _membersByName[nameKey] = account;
        emit MemberRegistered(account, role, name);
    }

    /**
     * @notice Freezes `account`: it can no longer act, send or receive until unfrozen.
     *
     * Emits a {MemberFrozen} event.
     */
    function freezeMember(address account) external onlyRole(OPERATOR_ROLE) {
        _requireRegistered(account);
        _members[account].frozen = true;
        emit MemberFrozen(account);
    }

    /**
     * @notice Lifts the freeze on `account`.
     *
     * Emits a {MemberUnfrozen} event.
     */
    function unfreezeMember(address account) external onlyRole(OPERATOR_ROLE) {
        _requireRegistered(account);
        _members[account].frozen = false;
        emit MemberUnfrozen(account);
    }

    /// @notice The role, freeze flag and legal name of `account`; role `None` for a non-member.
    function member(address account) external view returns (MemberRole role, bool frozen, string memory name) {
        Member memory record = _members[account];
        return (record.role, record.frozen, _memberNames[account]);
    }

    /// @notice How many members have been registered.
    function memberCount() external view returns (uint256) {
        return _memberCount;
    }

    /**
     * @dev Reverts unless `account` is a registered, unfrozen member holding `role`.
     */
    function _requireActiveMember(address account, MemberRole role) internal view {
        Member memory record = _requireActive(account);
        if (record.role != role) revert WrongMemberRole(account, uint8(role), uint8(record.role));
    }

    /**
     * @dev Reverts unless `account` is a registered, unfrozen member; returns its record.
     */
    function _requireActive(address account) internal view returns (Member memory record) {
        record = _members[account];
        if (record.role == MemberRole.None) revert NotAMember(account);
        if (record.frozen) revert MemberIsFrozen(account);
    }

    /**
     * @dev Reverts unless `account` may receive and hold certificates: an active member
     * in any role but auditor.
     */
    function _requireEligibleHolder(address account) internal view returns (Member memory record) {
        record = _requireActive(account);
        if (record.role == MemberRole.Auditor) revert ReceiverNotEligible(account);
    }

    /**
     * @dev Grants `role` to `account`, never to a member: an operator that were also a
     * member could be frozen, or its keys rotated, as one.
     */
    function _grantRole(bytes32 role, address account) internal virtual override returns (bool) {
        if (_members[account].role != MemberRole.None) revert MemberCannotHoldRole(account, role);
        return super._grantRole(role, account);
    }

    /// @dev The address of the member numbered `index`; the zero address for 0.
    function _memberAt(uint256 index) internal view returns (address) {
        return _memberAddresses[index];
    }

    /// @dev The member role of `account`; `None` for a non-member.
    function _roleOf(address account) internal view returns (MemberRole) {
        return _members[account].role;
    }

    function _isOperator(address account) private view returns (bool) {
        return hasRole(OPERATOR_ROLE, account) || hasRole(DEFAULT_ADMIN_ROLE, account);
    }

    /// @dev The key names are unique by: `name` with its ASCII letters in lower case.
    function _nameKey(string calldata name) private pure returns (bytes32) {
        bytes memory folded = bytes(name);
        for (uint256 i = 0; i < folded.length; ++i) {
            bytes1 letter = folded[i];
            if (letter >= "A" && letter <= "Z") folded[i] = bytes1(uint8(letter) + 32);
        }
        return keccak256(folded);
    }

    function _requireRegistered(address account) private view {
        if (_members[account].role == MemberRole.None) revert NotAMember(account);
    }
}
