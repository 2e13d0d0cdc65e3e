// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/**
 * @title SettlementToken
 * @notice A tokenized CNY bank deposit: the money certificates are financed and paid
 * in. One token is one yuan, with 2 decimals, so that 1 unit is CNY 0.01, the ledger's
 * minor unit.
 *
 * The deposit bank (the consortium operator, holding `MINTER_ROLE`) mints when a member
 * pays in and burns when a member withdraws, as a bank credits and debits a deposit
 * account. The ledger sees only the standard ERC-20 interface, so a bank's own
 * tokenized-deposit contract can take this one's place.
 */
contract SettlementToken is ERC20, AccessControl {
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @dev `member` paid in `amount` minor units, now held as tokens.
    event Deposited(address indexed member, uint256 amount);
    /// @dev `member` withdrew `amount` minor units, burned from its tokens.
    event Withdrawn(address indexed member, uint256 amount);

    constructor(address bank) ERC20("Tokenized CNY deposit", "CNYD") {
        _grantRole(DEFAULT_ADMIN_ROLE, bank);
        _grantRole(MINTER_ROLE, bank);
    }

    /// @notice Two decimals: amounts are in fen, like every amount on the ledger.
    function decimals() public pure override returns (uint8) {
        return 2;
    }

    /**
     * @notice Credits `amount` minor units to `member`, for money it paid in.
     *
     * Emits a {Deposited} and an ERC-20 {Transfer} event.
     *
     * Requirements:
     * - the caller holds `MINTER_ROLE`.
     */
    function deposit(address member, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(member, amount);
        emit Deposited(member, amount);
    }

    /**
     * @notice Debits `amount` minor units from `member`, for money paid out to it.
     *
     * Emits a {Withdrawn} and an ERC-20 {Transfer} event.
     *
     * Requirements:
     * - the caller holds `MINTER_ROLE`;
     * - `member` holds at least `amount`.
     */
    function withdraw(address member, uint256 amount) external onlyRole(MINTER_ROLE) {
        _burn(member, amount);
        emit Withdrawn(member, amount);
    }
}
