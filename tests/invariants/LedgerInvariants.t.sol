// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CertificateLedger} from "../../contracts/CertificateLedger.sol";
import {SettlementDesk} from "../../contracts/SettlementDesk.sol";
import {SettlementToken} from "../../contracts/SettlementToken.sol";
import {LedgerHandler} from "./LedgerHandler.sol";
import {VM} from "./Vm.sol";

/**
 * @dev The ledger's invariants, which must hold after every sequence of operations that
 * forge's fuzzer drives through {LedgerHandler}. Run by tests/contracts/test_invariants.py.
 */
contract LedgerInvariantsTest {
    // A weekday in 2026, so that maturity days and the day count look like real ones.
    uint256 private constant START = 1_780_000_000;

    CertificateLedger private ledger;
    SettlementDesk private desk;
    SettlementToken private token;
    LedgerHandler private handler;

    function setUp() public {
        VM.warp(START);
        address operator = VM.addr(0x0BE7A70);
        token = new SettlementToken(operator);
        ledger = new CertificateLedger(operator, token);
        desk = new SettlementDesk(ledger);
        bytes32 settlementRole = ledger.SETTLEMENT_ROLE();
        VM.prank(operator);
        ledger.grantRole(settlementRole, address(desk));
        handler = new LedgerHandler(ledger, desk, token, operator);
    }

    /// @dev Forge calls only the handler.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @dev The live and settled certificates of every issuance sum to its face value, and what it
    /// settled to the face values of its settled ones; a cancelled issuance has none.
    function invariant_issuanceLeavesSumToFaceValue() public view {
        uint256 next = ledger.nextCertificateId();
        uint256[] memory leaves = new uint256[](next);
        uint256[] memory settled = new uint256[](next);
        for (uint256 id = 1; id < next; ++id) {
            CertificateLedger.CertificateView memory cert = ledger.certificate(id);
            CertificateLedger.CertificateStatus status = cert.status;
            if (status == CertificateLedger.CertificateStatus.Split) {
                _require(cert.childCount >= 2, "a split certificate without children", id);
                continue;
            }
            if (status == CertificateLedger.CertificateStatus.Cancelled) {
                _require(cert.parentId == 0, "a part was cancelled", id);
                continue;
            }
            leaves[cert.rootId] += cert.faceValue;
            if (status == CertificateLedger.CertificateStatus.Settled) settled[cert.rootId] += cert.faceValue;
        }
        for (uint256 i = 0; i < handler.rootCount(); ++i) {
            uint256 rootId = handler.roots(i);
            CertificateLedger.CertificateView memory root = ledger.certificate(rootId);
            uint256 expected = root.status == CertificateLedger.CertificateStatus.Cancelled ? 0 : root.faceValue;
            _require(leaves[rootId] == expected, "the leaves do not sum to the face value", rootId);
            _require(ledger.settledAmount(rootId) == settled[rootId], "settled amount is not the settled leaves", rootId);
        }
    }

    /// @dev What an obligor owes is the unsettled face value of its open issuances, and never more
    /// than its limit (or than it owed when the operator lowered the limit below that).
    function invariant_outstandingWithinCreditLimit() public view {
        for (uint256 o = 0; o < handler.obligorCount(); ++o) {
            address obligor = handler.obligors(o);
            uint256 owed;
            for (uint256 i = 0; i < handler.rootCount(); ++i) {
                CertificateLedger.CertificateView memory root = ledger.certificate(handler.roots(i));
                if (root.obligor != obligor || root.status == CertificateLedger.CertificateStatus.Cancelled) continue;
                owed += root.faceValue - ledger.settledAmount(root.id);
            }
            (, uint256 outstanding) = ledger.creditLine(obligor);
            _require(outstanding == owed, "outstanding is not the open face value", o);
            _require(outstanding <= handler.outstandingCeiling(obligor), "outstanding above the credit limit", o);
        }
    }

    /// @dev No certificate moved, changed or was created past the gate: paused ledger, frozen
    /// certificate or party, non-member or ineligible receiver, inactive certificate.
    function invariant_noCertificateMovesPastTheGate() public view {
        if (handler.gateBreaches() != 0) revert(string.concat("gate breached: ", handler.lastBreach()));
    }

    /// @dev The desk neither creates nor destroys settlement tokens and keeps none: the supply is what
    /// the bank minted less what it burned, all of it with members; financing pays the price and
    /// settlement each face value, no more, no less.
    function invariant_deskConservesSettlementTokens() public view {
        uint256 supply = token.totalSupply();
        _require(supply == handler.minted() - handler.burned(), "supply is not minted less burned", supply);
        _require(token.balanceOf(address(desk)) == 0, "the desk holds tokens", 0);
        _require(token.balanceOf(address(ledger)) == 0, "the ledger holds tokens", 0);
        uint256 held;
        for (uint256 i = 0; i < handler.actorCount(); ++i) held += token.balanceOf(handler.actors(i));
        _require(held == supply, "tokens outside the members", held);
        if (handler.moneyBreaches() != 0) revert(string.concat("money breach: ", handler.lastBreach()));
    }

    /// @dev Settlement paid each issuance exactly what it settled, never above its face value.
    function invariant_settlementPaysEachFaceValueOnce() public view {
        for (uint256 i = 0; i < handler.rootCount(); ++i) {
            uint256 rootId = handler.roots(i);
            uint256 settled = ledger.settledAmount(rootId);
            _require(handler.settlementPaid(rootId) == settled, "paid is not what was settled", rootId);
            _require(settled <= ledger.certificate(rootId).faceValue, "settled above the face value", rootId);
        }
    }

    /// @dev Each financier's offer nonce was accepted or withdrawn at most once, and the desk says so.
    function invariant_offerNonceUsedAtMostOnce() public view {
        for (uint256 i = 0; i < handler.actorCount(); ++i) {
            address financier = handler.actors(i);
            for (uint256 nonce = 0; nonce < handler.NONCES(); ++nonce) {
                uint256 uses = handler.nonceUses(financier, nonce);
                _require(uses <= 1, "an offer nonce used twice", nonce);
                _require(desk.offerNonceUsed(financier, nonce) == (uses == 1), "the desk's nonce record is wrong", nonce);
            }
        }
    }

    /// @dev Each member's ERC-721 balance counts the live certificates it holds.
    function invariant_balancesCountHeldCertificates() public view {
        uint256 next = ledger.nextCertificateId();
        for (uint256 i = 0; i < handler.actorCount(); ++i) {
            address account = handler.actors(i);
            uint256 held;
            for (uint256 id = 1; id < next; ++id) if (ledger.certificate(id).holder == account) ++held;
            _require(ledger.balanceOf(account) == held, "balance is not the certificates held", i);
        }
    }

    /// @dev The fuzzer's first finding, kept: marking overdue changed a frozen certificate.
    function test_aFrozenCertificateIsNotMarkedOverdue() public {
        handler.issueAccepted(1, 1, 1000, 2); // certificate 1, accepted, maturing in two days
        handler.operatorControl(3, 0); // the operator freezes it
        handler.passDays(19); // twenty days on: past maturity and the grace period
        handler.markOverdue(0, 0, 0);
        _require(ledger.certificate(1).frozen, "the certificate is not frozen", 1);
        _require(ledger.certificate(1).status == CertificateLedger.CertificateStatus.Active, "marked overdue", 1);
        invariant_noCertificateMovesPastTheGate();
    }

    function _require(bool holds, string memory what, uint256 which) private pure {
        if (!holds) revert(string.concat(what, " (", _decimal(which), ")"));
    }

    function _decimal(uint256 value) private pure returns (string memory) {
        if (value == 0) return "0";
        bytes memory digits;
        for (; value != 0; value /= 10) digits = abi.encodePacked(bytes1(uint8(48 + (value % 10))), digits);
        return string(digits);
    }
}
