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
     * - `account` is not the zero address and is not registered yet;
     * - `role` is not `None`, and `name` is not empty.
     */
    function registerMember(address account, MemberRole role, string calldata name) external onlyRole(OPERATOR_ROLE) {
        if (account == address(0)) revert InvalidMemberAddress(account);
        if (_members[account].role != MemberRole.None) revert MemberAlreadyRegistered(account);
        if (role == MemberRole.None) revert WrongMemberRole(account, uint8(MemberRole.Supplier), uint8(role));
        if (bytes(name).length == 0) revert EmptyMemberName();
        uint32 index = ++_memberCount;
        _members[account] = Member({role: role, frozen: false, index: index});
        _memberAddresses[index] = account;
        _memberNames[account] = name;
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

    /// @dev The address of the member numbered `index`; the zero address for 0.
    function _memberAt(uint256 index) internal view returns (address) {
        return _memberAddresses[index];
    }

    /// @dev The member role of `account`; `None` for a non-member.
    function _roleOf(address account) internal view returns (MemberRole) {
        return _members[account].role;
    }

    function _requireRegistered(address account) private view {
        if (_members[account].role == MemberRole.None) revert NotAMember(account);
    }
}
