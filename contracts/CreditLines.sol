// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MemberRegistry} from "./MemberRegistry.sol";

/**
 * @dev Credit lines of core enterprises. The operator sets each obligor's limit;
 * issuing draws on it and cancelling, rejecting or settling gives it back, so that
 * the value an obligor has outstanding never exceeds its limit.
 */
abstract contract CreditLines is MemberRegistry {
    struct CreditLine {
        uint128 limit;
        uint128 outstanding;
    }

    mapping(address obligor => CreditLine) private _creditLines;

    event CreditLimitSet(address indexed obligor, uint256 limit);

    /**
     * @notice Sets the credit limit of core enterprise `obligor`, in minor units.
     * A limit below what is outstanding blocks new issuance until enough is repaid.
     *
     * Emits a {CreditLimitSet} event.
     *
     * Requirements:
     * - the caller holds `OPERATOR_ROLE`;
     * - `obligor` is a registered core enterprise.
     */
    function setCreditLimit(address obligor, uint128 limit) external onlyRole(OPERATOR_ROLE) {
        MemberRole role = _roleOf(obligor);
        if (role != MemberRole.CoreEnterprise) {
            revert WrongMemberRole(obligor, uint8(MemberRole.CoreEnterprise), uint8(role));
        }
        _creditLines[obligor].limit = limit;
        emit CreditLimitSet(obligor, limit);
    }

    /// @notice The limit and outstanding value of `obligor`, in minor units.
    function creditLine(address obligor) external view returns (uint256 limit, uint256 outstanding) {
        CreditLine memory line = _creditLines[obligor];
        return (line.limit, line.outstanding);
    }

    /**
     * @dev Draws `amount` on the credit line of `obligor`.
     *
     * Requirements:
     * - the outstanding value after drawing stays within the limit.
     */
    function _drawCredit(address obligor, uint256 amount) internal {
        CreditLine memory line = _creditLines[obligor];
        uint256 needed = uint256(line.outstanding) + amount;
        if (needed > line.limit) revert CreditLineExceeded(obligor, line.limit, line.outstanding, amount);
        _creditLines[obligor].outstanding = uint128(needed);
    }

    /// @dev Gives `amount` back to the credit line of `obligor`.
    function _releaseCredit(address obligor, uint256 amount) internal {
        _creditLines[obligor].outstanding -= uint128(amount);
    }
}
