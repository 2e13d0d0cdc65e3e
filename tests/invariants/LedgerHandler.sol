// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CertificateLedger} from "../../contracts/CertificateLedger.sol";
import {MemberRegistry} from "../../contracts/MemberRegistry.sol";
import {SettlementDesk} from "../../contracts/SettlementDesk.sol";
import {SettlementToken} from "../../contracts/SettlementToken.sol";
import {VM} from "./Vm.sol";

/**
 * @dev Forge's fuzzer calls this handler's functions in random order with random seeds; each
 * picks random members (or a stranger) and certificates and calls one public operation of the
 * ledger, the desk or the token as them. Refusals are caught: the ledger refusing is expected.
 *
 * What an invariant needs beyond the contracts' own state is kept here as ghosts: the tokens
 * the bank minted and burned, what settlement paid per issuance, each offer nonce's uses, and
 * breaches seen around a single call (a certificate that moved past the gate, money that moved
 * other than the operation says).
 */
contract LedgerHandler {
    using CertificateStatusSet for CertificateLedger.CertificateStatus;

    enum Op {
        Plain,
        Recourse
    }

    struct CertificateState {
        address holder;
        address lastHolder;
        address obligor;
        uint256 faceValue;
        uint256 parentId;
        CertificateLedger.CertificateStatus status;
        bool frozen;
    }

    struct MemberState {
        MemberRegistry.MemberRole role;
        bool frozen;
    }

    struct Snapshot {
        bool paused;
        uint256 nextId;
        CertificateState[] certificates;
        MemberState[] members;
    }

    struct Due {
        uint256[] balances;
        bool[] open;
    }

    struct AcceptedOffer {
        SettlementDesk.Offer offer;
        bytes signature;
    }

    // Small, so that every run reaches splits, financing and settlement of the same trees.
    uint256 public constant MAX_CERTIFICATES = 48;
    uint256 public constant MAX_FACE = 1e9;
    uint256 public constant NONCES = 16;
    uint256 private constant KEY_BASE = 0xA11CE;

    CertificateLedger public immutable ledger;
    SettlementDesk public immutable desk;
    SettlementToken public immutable token;
    address public immutable operator;

    /// @dev Core enterprises 0-1, suppliers 2-4, financiers 5-6, an auditor 7, and 8 who never joins.
    address[] public actors;
    address[] public obligors;
    address[] public financiers;
    uint256[] public roots;

    // Ghosts.
    uint256 public minted;
    uint256 public burned;
    uint256 public gateBreaches;
    uint256 public moneyBreaches;
    string public lastBreach;
    mapping(uint256 rootId => uint256) public settlementPaid;
    mapping(address financier => mapping(uint256 nonce => uint256)) public nonceUses;
    /// @dev The most an obligor may owe: its limit, or what it owed when the operator set a lower one.
    mapping(address obligor => uint256) public outstandingCeiling;
    mapping(bytes4 operation => uint256) public successes;
    AcceptedOffer[] private _accepted;
    uint256 private _documents;

    constructor(CertificateLedger ledger_, SettlementDesk desk_, SettlementToken token_, address operator_) {
        ledger = ledger_;
        desk = desk_;
        token = token_;
        operator = operator_;
        MemberRegistry.MemberRole[9] memory roles = [
            MemberRegistry.MemberRole.CoreEnterprise,
            MemberRegistry.MemberRole.CoreEnterprise,
            MemberRegistry.MemberRole.Supplier,
            MemberRegistry.MemberRole.Supplier,
            MemberRegistry.MemberRole.Supplier,
            MemberRegistry.MemberRole.Financier,
            MemberRegistry.MemberRole.Financier,
            MemberRegistry.MemberRole.Auditor,
            MemberRegistry.MemberRole.None
        ];
        for (uint256 i = 0; i < roles.length; ++i) {
            address account = VM.addr(KEY_BASE + i);
            actors.push(account);
            if (roles[i] != MemberRegistry.MemberRole.None) {
                VM.prank(operator);
                ledger.registerMember(account, roles[i], string.concat("member ", _digit(i)));
            }
            VM.prank(account);
            token.approve(address(desk), type(uint256).max);
            if (roles[i] == MemberRegistry.MemberRole.CoreEnterprise) obligors.push(account);
            if (roles[i] == MemberRegistry.MemberRole.Financier) financiers.push(account);
        }
        for (uint256 i = 0; i < obligors.length; ++i) _setCreditLimit(obligors[i], 5 * MAX_FACE);
        // Money to finance and settle with from the start.
        for (uint256 i = 0; i < 2; ++i) {
            _payIn(obligors[i], 20 * MAX_FACE);
            _payIn(financiers[i], 20 * MAX_FACE);
        }
    }

    modifier gated(Op op) {
        Snapshot memory before = _snapshot();
        _;
        _checkGate(before, op);
    }

    // Issuance and acceptance

    function issue(uint256 obligorSeed, uint256 holderSeed, uint256 faceValue, uint256 daySeed, uint256 reuseSeed)
        external
        gated(Op.Plain)
    {
        _issue(obligorSeed, holderSeed, faceValue, daySeed, reuseSeed);
    }

    /// @dev Issues, and the supplier accepts: most certificates worth moving are accepted ones.
    function issueAccepted(uint256 obligorSeed, uint256 holderSeed, uint256 faceValue, uint256 daySeed)
        external
        gated(Op.Plain)
    {
        (uint256 id, address holder) = _issue(obligorSeed << 2 | 1, holderSeed << 2 | 1, faceValue, daySeed, 2);
        if (id == 0) return;
        VM.prank(holder);
        try ledger.accept(id) {
            _succeeded(this.answer.selector);
        } catch {}
    }

    /// @dev The receiver (or anyone) accepts or rejects a certificate.
    function answer(uint256 actorSeed, uint256 idSeed, bool accepts) external gated(Op.Plain) {
        (uint256 id, address caller) = _certificateAndCaller(idSeed, actorSeed);
        VM.prank(caller);
        if (accepts) {
            try ledger.accept(id) {
                _succeeded(this.answer.selector);
            } catch {}
        } else {
            try ledger.reject(id) {
                _succeeded(this.answer.selector);
            } catch {}
        }
    }

    function cancel(uint256 actorSeed, uint256 idSeed) external gated(Op.Plain) {
        uint256 id = _certificate(idSeed);
        if (id == 0) return;
        address caller = actorSeed % 4 == 3 ? _actor(actorSeed >> 2) : ledger.certificate(id).obligor;
        VM.prank(caller);
        try ledger.cancel(id) {
            _succeeded(this.cancel.selector);
        } catch {}
    }

    // Movement

    function split(uint256 actorSeed, uint256 idSeed, uint256 partSeed) external gated(Op.Plain) {
        if (ledger.nextCertificateId() > MAX_CERTIFICATES) return;
        (uint256 id, address caller) = _certificateAndCaller(idSeed, actorSeed);
        if (id == 0) return;
        uint256 faceValue = ledger.certificate(id).faceValue;
        uint256 count = 2 + partSeed % 3;
        CertificateLedger.Part[] memory parts = new CertificateLedger.Part[](count);
        uint256 left = faceValue;
        for (uint256 i = 0; i < count; ++i) {
            uint256 seed = uint256(keccak256(abi.encode(partSeed, i)));
            uint256 amount = i == count - 1 ? left : (left > count - i ? 1 + seed % (left - (count - i)) : 0);
            left -= amount;
            parts[i] = CertificateLedger.Part({to: _receiver(seed >> 8), amount: amount});
        }
        // Now and then parts that do not sum to the face value.
        if (partSeed % 8 == 7) parts[count - 1].amount += 1;
        VM.prank(caller);
        try ledger.split(id, parts) {
            _succeeded(this.split.selector);
        } catch {}
    }

    function transferPart(uint256 actorSeed, uint256 idSeed, uint256 toSeed, uint256 amount) external gated(Op.Plain) {
        if (ledger.nextCertificateId() > MAX_CERTIFICATES) return;
        (uint256 id, address caller) = _certificateAndCaller(idSeed, actorSeed);
        if (id == 0) return;
        amount = amount % 16 == 15 ? amount : amount % ledger.certificate(id).faceValue;
        address to = _receiver(toSeed);
        VM.prank(caller);
        try ledger.transferPart(id, to, amount) {
            _succeeded(this.transferPart.selector);
        } catch {}
    }

    /// @dev An ERC-721 transfer of a whole certificate, by its holder, an approved member or anyone.
    function transferWhole(uint256 actorSeed, uint256 idSeed, uint256 toSeed, bool safe) external gated(Op.Plain) {
        (uint256 id, address caller) = _certificateAndCaller(idSeed, actorSeed);
        if (id == 0) return;
        CertificateLedger.CertificateView memory cert = ledger.certificate(id);
        address from = toSeed % 8 == 7 ? _actor(toSeed >> 3) : cert.lastHolder;
        address to = _receiver(toSeed >> 4);
        VM.prank(caller);
        if (safe) {
            try ledger.safeTransferFrom(from, to, id) {
                _succeeded(this.transferWhole.selector);
            } catch {}
        } else {
            try ledger.transferFrom(from, to, id) {
                _succeeded(this.transferWhole.selector);
            } catch {}
        }
    }

    /// @dev Approves a member (or anyone) for one certificate, or as an operator of all the caller's.
    function approve(uint256 actorSeed, uint256 idSeed, uint256 spenderSeed, bool all) external gated(Op.Plain) {
        (uint256 id, address caller) = _certificateAndCaller(idSeed, actorSeed);
        address spender = _actor(spenderSeed);
        VM.prank(caller);
        if (all) {
            try ledger.setApprovalForAll(spender, spenderSeed % 4 != 3) {
                _succeeded(this.approve.selector);
            } catch {}
        } else {
            try ledger.approve(spender, id) {
                _succeeded(this.approve.selector);
            } catch {}
        }
    }

    // The operator

    /**
     * @dev One of the operator's controls. Freezing and pausing come less often than lifting
     * them, so that most calls find the ledger open and most members active.
     */
    function operatorControl(uint256 which, uint256 seed) external gated(Op.Plain) {
        which %= 10;
        address account = _actor(seed);
        uint256 id = _certificate(seed);
        VM.prank(operator);
        if (which == 0) {
            try ledger.freezeMember(account) {} catch {}
        } else if (which <= 2) {
            try ledger.unfreezeMember(account) {} catch {}
        } else if (which == 3) {
            try ledger.freezeCertificate(id) {} catch {}
        } else if (which <= 5) {
            try ledger.unfreezeCertificate(id) {} catch {}
        } else if (which == 6) {
            try ledger.pause() {} catch {}
        } else if (which <= 8) {
            try ledger.unpause() {} catch {}
        } else if (seed % 2 == 0) {
            ledger.setMaxHops(uint16(seed % 6));
        } else {
            desk.setGracePeriod(uint16(seed % 6));
        }
        _succeeded(this.operatorControl.selector);
    }

    /// @dev Mostly a limit with room for several issuances, now and then one below what is owed.
    function setCreditLimit(uint256 obligorSeed, uint256 limit) external gated(Op.Plain) {
        address obligor = obligorSeed % 4 == 3 ? _actor(obligorSeed) : obligors[obligorSeed % 2];
        _setCreditLimit(obligor, limit % 8 == 7 ? limit % (2 * MAX_FACE) : 2 * MAX_FACE + limit % (4 * MAX_FACE));
    }

    /// @dev Someone who is not the operator tries the operator's controls: each must be refused.
    function strangerTriesOperatorControls(uint256 actorSeed, uint256 idSeed) external gated(Op.Plain) {
        address caller = _actor(actorSeed);
        uint256 id = _certificate(idSeed);
        address obligor = obligors[actorSeed % 2];
        VM.prank(caller);
        try ledger.pause() {
            _gateBreach("a member paused the ledger");
        } catch {}
        VM.prank(caller);
        try ledger.freezeCertificate(id) {
            _gateBreach("a member froze a certificate");
        } catch {}
        VM.prank(caller);
        try ledger.setCreditLimit(obligor, type(uint128).max) {
            _gateBreach("a member set a credit limit");
        } catch {}
        VM.prank(caller);
        try token.deposit(caller, 1) {
            _moneyBreach("a member minted settlement tokens");
        } catch {}
    }

    // The deposit bank

    /// @dev Pays money in, mostly for financiers and obligors, who spend it; or pays some out.
    function bank(uint256 actorSeed, uint256 amount, bool payIn) external gated(Op.Plain) {
        address account = actorSeed % 4 == 3 ? _actor(actorSeed) : (actorSeed % 2 == 0 ? financiers : obligors)[
            (actorSeed >> 1) % 2
        ];
        if (payIn) {
            _payIn(account, amount % (4 * MAX_FACE));
        } else {
            amount %= token.balanceOf(account) + 1;
            VM.prank(operator);
            token.withdraw(account, amount);
            burned += amount;
        }
        _succeeded(this.bank.selector);
    }

    /// @dev Settlement and overdue marking need days to pass; a day is the ledger's unit of time.
    function passDays(uint8 days_) external {
        VM.warp(block.timestamp + (1 + days_ % 20) * 1 days);
    }

    // Financing

    function acceptOffer(
        uint256 idSeed,
        uint256 actorSeed,
        uint256 termSeed,
        uint256 amountSeed,
        bool recourse
    ) external gated(Op.Plain) {
        if (ledger.nextCertificateId() > MAX_CERTIFICATES) return;
        (uint256 id, address seller) = _certificateAndCaller(idSeed, actorSeed);
        if (id == 0) return;
        uint256 faceValue = ledger.certificate(id).faceValue;
        uint256 financierIndex = termSeed % 8 == 7 ? (termSeed >> 3) % actors.length : 5 + termSeed % 2;
        SettlementDesk.Offer memory offer = SettlementDesk.Offer({
            certificateId: id,
            amount: amountSeed % 8 == 7 ? faceValue / 2 : faceValue,
            financier: actors[financierIndex],
            seller: seller,
            annualRate: termSeed % 32 == 1 ? desk.MAX_ANNUAL_RATE() + 1 : (termSeed >> 8) % 20_000_000,
            dayCount: termSeed % 32 == 2 ? 364 : (termSeed % 2 == 0 ? 360 : 365),
            expiresAt: termSeed % 16 == 3 ? block.timestamp - 1 : block.timestamp + 1 days,
            recourse: recourse,
            nonce: (termSeed >> 40) % NONCES
        });
        // The whole, or a part split off; now and then signed by someone else.
        uint256 amount = amountSeed % 3 == 0 ? 0 : (amountSeed % 3 == 1 ? faceValue : 1 + (amountSeed >> 2) % faceValue);
        bytes memory signature = _sign(termSeed % 16 == 5 ? KEY_BASE + 2 : KEY_BASE + financierIndex, desk.hashOffer(offer));
        _acceptOffer(offer, signature, amount);
    }

    /// @dev Presents an offer accepted already, with its financier's signature, again.
    function replayOffer(uint256 which, uint256 amount) external gated(Op.Plain) {
        if (_accepted.length == 0) return;
        AcceptedOffer memory accepted = _accepted[which % _accepted.length];
        _acceptOffer(accepted.offer, accepted.signature, amount % 2 == 0 ? 0 : accepted.offer.amount);
    }

    /// @dev A financier withdraws an offer by its nonce or by its terms; or someone else tries to.
    function withdrawOffer(uint256 actorSeed, uint256 nonce, bool byTerms) external gated(Op.Plain) {
        address financier = financiers[actorSeed % 2];
        address caller = actorSeed % 4 == 3 ? _actor(actorSeed >> 2) : financier;
        SettlementDesk.Offer memory offer;
        offer.financier = financier;
        offer.nonce = nonce % NONCES;
        VM.prank(caller);
        if (byTerms) {
            try desk.withdrawOffer(offer) {
                ++nonceUses[financier][offer.nonce];
                _succeeded(this.withdrawOffer.selector);
            } catch {}
        } else {
            try desk.withdrawOfferNonce(offer.nonce) {
                ++nonceUses[caller][offer.nonce];
                _succeeded(this.withdrawOffer.selector);
            } catch {}
        }
    }

    // Settlement

    function settle(uint256 rootSeed, uint256 actorSeed, uint256 pickSeed) external gated(Op.Plain) {
        if (roots.length == 0) return;
        uint256 rootId = roots[rootSeed % roots.length];
        address obligor = ledger.certificate(rootId).obligor;
        address caller = actorSeed % 8 == 7 ? _actor(actorSeed) : obligor;
        uint256[] memory ids = _batchOf(rootId, pickSeed);
        (uint256 due, Due memory before) = _dueOn(ids);
        VM.prank(caller);
        try desk.settle(rootId, ids) returns (uint256 total) {
            _checkSettled(rootId, obligor, ids, due, total, before);
            _succeeded(this.settle.selector);
        } catch {}
    }

    function present(uint256 idSeed, uint256 actorSeed) external gated(Op.Plain) {
        (uint256 id, address caller) = _certificateAndCaller(idSeed, actorSeed);
        if (id == 0) return;
        CertificateLedger.CertificateView memory cert = ledger.certificate(id);
        uint256[] memory ids = new uint256[](1);
        ids[0] = id;
        (uint256 due, Due memory before) = _dueOn(ids);
        VM.prank(caller);
        try desk.present(id) returns (uint256 amount) {
            _checkSettled(cert.rootId, cert.obligor, ids, due, amount, before);
            _succeeded(this.present.selector);
        } catch {}
    }

    function markOverdue(uint256 rootSeed, uint256 actorSeed, uint256 pickSeed) external gated(Op.Plain) {
        if (roots.length == 0) return;
        uint256 rootId = roots[rootSeed % roots.length];
        uint256[] memory ids = _batchOf(rootId, pickSeed);
        VM.prank(_actor(actorSeed));
        try desk.markOverdue(rootId, ids) {
            _succeeded(this.markOverdue.selector);
        } catch {}
    }

    function recordRecourseClaim(uint256 idSeed, uint256 actorSeed) external gated(Op.Plain) {
        (uint256 id, address caller) = _certificateAndCaller(idSeed, actorSeed);
        if (id == 0) return;
        VM.prank(caller);
        try desk.recordRecourseClaim(id) {
            _succeeded(this.recordRecourseClaim.selector);
        } catch {}
    }

    function payRecourseClaim(uint256 idSeed, uint256 actorSeed) external gated(Op.Recourse) {
        uint256 id = _certificate(idSeed);
        if (id == 0) return;
        address seller = actorSeed % 4 == 3 ? _actor(actorSeed) : ledger.recourseSeller(id);
        address financier = ledger.certificate(id).holder;
        uint256 faceValue = ledger.certificate(id).faceValue;
        uint256[] memory before = _balances();
        VM.prank(seller);
        try desk.payRecourseClaim(id) {
            int256[] memory change = new int256[](actors.length);
            _addChange(change, seller, -int256(faceValue));
            _addChange(change, financier, int256(faceValue));
            _checkBalances(before, change, "recourse paid other than the face value");
            _succeeded(this.payRecourseClaim.selector);
        } catch {}
    }

    // Reads for the invariants

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function rootCount() external view returns (uint256) {
        return roots.length;
    }

    function obligorCount() external view returns (uint256) {
        return obligors.length;
    }

    // Internals

    function _issue(uint256 obligorSeed, uint256 holderSeed, uint256 faceValue, uint256 daySeed, uint256 reuseSeed)
        private
        returns (uint256 id, address holder)
    {
        if (ledger.nextCertificateId() > MAX_CERTIFICATES) return (0, address(0));
        // Mostly the right roles, sometimes anyone, to try the gate.
        address obligor = obligorSeed % 4 == 3 ? _actor(obligorSeed >> 2) : obligors[obligorSeed % obligors.length];
        holder = holderSeed % 4 == 3 ? _actor(holderSeed >> 2) : actors[2 + holderSeed % 3];
        faceValue = faceValue % 8 == 7 ? faceValue : 1 + faceValue % MAX_FACE;
        uint256 today = block.timestamp / 1 days;
        uint256 maturityDay = daySeed % 16 == 15 ? today + 366 : today + daySeed % 45;
        // Now and then a document or invoice already used.
        uint256 document = reuseSeed % 8 == 7 && _documents > 0 ? 1 + reuseSeed % _documents : ++_documents;
        bytes32 documentHash = keccak256(abi.encode("document", document));
        bytes32 invoiceKey = keccak256(abi.encode("invoice", reuseSeed % 8 == 1 ? 1 : document));
        VM.prank(obligor);
        try ledger.issue(holder, faceValue, maturityDay, documentHash, invoiceKey) returns (uint256 issued) {
            id = issued;
            roots.push(id);
            (uint256 limit, uint256 outstanding) = ledger.creditLine(obligor);
            if (outstanding > limit) _moneyBreach("issued beyond the credit limit");
            _succeeded(this.issue.selector);
        } catch {}
    }

    function _acceptOffer(SettlementDesk.Offer memory offer, bytes memory signature, uint256 amount) private {
        uint256[] memory before = _balances();
        bool nonceWasUsed = desk.offerNonceUsed(offer.financier, offer.nonce);
        VM.prank(offer.seller);
        try desk.acceptOffer(offer, signature, amount) returns (uint256 financedId, uint256 price) {
            ++nonceUses[offer.financier][offer.nonce];
            if (nonceWasUsed) _moneyBreach("an offer nonce was used twice");
            _accepted.push(AcceptedOffer({offer: offer, signature: signature}));
            CertificateLedger.CertificateView memory financed = ledger.certificate(financedId);
            uint256 daysToMaturity = financed.maturityDay - block.timestamp / 1 days;
            uint256 denominator = offer.dayCount * desk.RATE_SCALE();
            uint256 interest = (2 * financed.faceValue * offer.annualRate * daysToMaturity + denominator) /
                (2 * denominator);
            if (price + interest != financed.faceValue) _moneyBreach("price and interest are not the face value");
            if (financed.faceValue > offer.amount) _moneyBreach("financed more than the offer priced");
            if (financed.holder != offer.financier) _moneyBreach("the financier does not hold what it bought");
            int256[] memory change = new int256[](actors.length);
            _addChange(change, offer.financier, -int256(price));
            _addChange(change, offer.seller, int256(price));
            _checkBalances(before, change, "financing moved other than the price");
            _succeeded(this.acceptOffer.selector);
        } catch {}
    }

    /// @dev What settling `ids` pays: the face value of each not yet settled, once; and which those are.
    function _dueOn(uint256[] memory ids) private view returns (uint256 due, Due memory before) {
        before.balances = _balances();
        before.open = new bool[](ids.length);
        for (uint256 i = 0; i < ids.length; ++i) {
            if (_repeated(ids, i)) continue;
            CertificateLedger.CertificateView memory cert = ledger.certificate(ids[i]);
            if (cert.status == CertificateLedger.CertificateStatus.Settled) continue;
            before.open[i] = true;
            due += cert.faceValue;
        }
    }

    /// @dev The obligor paid `due`, and each certificate open before went to its holder at its face value.
    function _checkSettled(
        uint256 rootId,
        address obligor,
        uint256[] memory ids,
        uint256 due,
        uint256 paid,
        Due memory before
    ) private {
        settlementPaid[rootId] += paid;
        if (paid != due) _moneyBreach("settlement paid other than each face value once");
        int256[] memory change = new int256[](actors.length);
        _addChange(change, obligor, -int256(paid));
        for (uint256 i = 0; i < ids.length; ++i) {
            if (!before.open[i]) continue;
            CertificateLedger.CertificateView memory cert = ledger.certificate(ids[i]);
            if (cert.status != CertificateLedger.CertificateStatus.Settled) _moneyBreach("a listed certificate unsettled");
            _addChange(change, cert.lastHolder, int256(cert.faceValue));
        }
        _checkBalances(before.balances, change, "settlement paid someone other than the holders");
    }

    function _batchOf(uint256 rootId, uint256 pickSeed) private view returns (uint256[] memory ids) {
        uint256 next = ledger.nextCertificateId();
        uint256[] memory found = new uint256[](next);
        uint256 count;
        for (uint256 id = rootId; id < next; ++id) {
            CertificateLedger.CertificateView memory cert = ledger.certificate(id);
            if (cert.rootId != rootId) continue;
            // Most batches list only the certificates the issuance still owes, now and then not.
            bool open = cert.status.isLive() || cert.status == CertificateLedger.CertificateStatus.Settled;
            if (open || pickSeed % 8 == 7) found[count++] = id;
        }
        // Now and then a certificate twice, which is paid once.
        uint256 extra = count > 0 && pickSeed % 4 == 1 ? 1 : 0;
        ids = new uint256[](count + extra);
        for (uint256 i = 0; i < count; ++i) ids[i] = found[i];
        if (extra == 1) ids[count] = found[(pickSeed >> 3) % count];
    }

    function _payIn(address account, uint256 amount) private {
        VM.prank(operator);
        token.deposit(account, amount);
        minted += amount;
    }

    function _setCreditLimit(address obligor, uint256 limit) private {
        (, uint256 outstanding) = ledger.creditLine(obligor);
        VM.prank(operator);
        try ledger.setCreditLimit(obligor, uint128(limit)) {
            outstandingCeiling[obligor] = limit > outstanding ? limit : outstanding;
            _succeeded(this.setCreditLimit.selector);
        } catch {}
    }

    function _snapshot() private view returns (Snapshot memory snapshot) {
        snapshot.paused = ledger.paused();
        snapshot.nextId = ledger.nextCertificateId();
        snapshot.certificates = new CertificateState[](snapshot.nextId);
        for (uint256 id = 1; id < snapshot.nextId; ++id) snapshot.certificates[id] = _stateOf(id);
        snapshot.members = new MemberState[](actors.length);
        for (uint256 i = 0; i < actors.length; ++i) {
            (MemberRegistry.MemberRole role, bool frozen, ) = ledger.member(actors[i]);
            snapshot.members[i] = MemberState({role: role, frozen: frozen});
        }
    }

    function _stateOf(uint256 id) private view returns (CertificateState memory state) {
        CertificateLedger.CertificateView memory cert = ledger.certificate(id);
        return
            CertificateState({
                holder: cert.holder,
                lastHolder: cert.lastHolder,
                obligor: cert.obligor,
                faceValue: cert.faceValue,
                parentId: cert.parentId,
                status: cert.status,
                frozen: cert.frozen
            });
    }

    /**
     * @dev Compares every certificate with its state before the call: whatever moved, changed
     * status or was created must have passed the gate as the state before the call stood.
     */
    function _checkGate(Snapshot memory before, Op op) private {
        uint256 next = ledger.nextCertificateId();
        for (uint256 id = 1; id < before.nextId; ++id) {
            CertificateState memory was = before.certificates[id];
            CertificateState memory now_ = _stateOf(id);
            if (now_.holder != address(0) && now_.holder == now_.obligor) _gateBreach("an obligor holds its own");
            if (was.status == now_.status && was.holder == now_.holder) continue;
            if (before.paused) _gateBreach("a certificate changed while paused");
            if (was.frozen) _gateBreach("a frozen certificate changed");
            if (!was.status.isLive()) _gateBreach("a retired certificate changed");
            _checkChange(before, op, was, now_);
        }
        for (uint256 id = before.nextId; id < next; ++id) {
            CertificateState memory created = _stateOf(id);
            if (before.paused) _gateBreach("a certificate created while paused");
            if (!_eligible(before, created.lastHolder) || created.lastHolder == created.obligor) {
                _gateBreach("a certificate created for an ineligible holder");
            }
            if (created.parentId == 0) {
                if (!_activeIn(before, created.obligor, MemberRegistry.MemberRole.CoreEnterprise)) {
                    _gateBreach("issued by an inactive or wrong obligor");
                }
                if (!_activeIn(before, created.lastHolder, MemberRegistry.MemberRole.Supplier)) {
                    _gateBreach("issued to an inactive or wrong supplier");
                }
            } else {
                CertificateState memory parent = before.certificates[created.parentId];
                if (parent.status != CertificateLedger.CertificateStatus.Active || parent.frozen) {
                    _gateBreach("split from an inactive or frozen certificate");
                }
                if (!_active(before, parent.holder)) _gateBreach("split by an inactive holder");
            }
        }
    }

    function _checkChange(Snapshot memory before, Op op, CertificateState memory was, CertificateState memory now_)
        private
    {
        CertificateLedger.CertificateStatus from = was.status;
        CertificateLedger.CertificateStatus to = now_.status;
        if (now_.holder != address(0) && now_.holder != was.holder) {
            // A transfer: active, or overdue only on recourse.
            bool onRecourse = op == Op.Recourse && from == CertificateLedger.CertificateStatus.Overdue &&
                to == CertificateLedger.CertificateStatus.Overdue;
            bool sold = from == CertificateLedger.CertificateStatus.Active &&
                (to == CertificateLedger.CertificateStatus.Active || to == CertificateLedger.CertificateStatus.Financed);
            if (!onRecourse && !sold) _gateBreach("an inactive certificate moved");
            if (!_active(before, was.holder)) _gateBreach("moved from an inactive holder");
            if (!_eligible(before, now_.holder)) _gateBreach("moved to an ineligible holder");
        } else if (now_.holder == was.holder) {
            bool accepted = from == CertificateLedger.CertificateStatus.Pending &&
                to == CertificateLedger.CertificateStatus.Active;
            bool overdue = (from == CertificateLedger.CertificateStatus.Active ||
                from == CertificateLedger.CertificateStatus.Financed) && to == CertificateLedger.CertificateStatus.Overdue;
            if (!accepted && !overdue) _gateBreach("a status changed without a move");
            if (accepted && !_active(before, was.holder)) _gateBreach("accepted by an inactive holder");
        } else {
            // Retired.
            bool cancelled = from == CertificateLedger.CertificateStatus.Pending &&
                to == CertificateLedger.CertificateStatus.Cancelled;
            bool splitUp = from == CertificateLedger.CertificateStatus.Active &&
                to == CertificateLedger.CertificateStatus.Split;
            bool settled = from != CertificateLedger.CertificateStatus.Pending &&
                to == CertificateLedger.CertificateStatus.Settled;
            if (!cancelled && !splitUp && !settled) _gateBreach("retired the wrong way");
            if ((splitUp || settled) && !_active(before, was.holder)) _gateBreach("retired from an inactive holder");
        }
    }

    function _member(Snapshot memory snapshot, address account) private view returns (MemberState memory state) {
        uint256 index = _indexOf(account);
        if (index < actors.length) state = snapshot.members[index];
    }

    function _active(Snapshot memory snapshot, address account) private view returns (bool) {
        MemberState memory state = _member(snapshot, account);
        return state.role != MemberRegistry.MemberRole.None && !state.frozen;
    }

    function _activeIn(Snapshot memory snapshot, address account, MemberRegistry.MemberRole role)
        private
        view
        returns (bool)
    {
        return _active(snapshot, account) && _member(snapshot, account).role == role;
    }

    function _eligible(Snapshot memory snapshot, address account) private view returns (bool) {
        return _active(snapshot, account) && _member(snapshot, account).role != MemberRegistry.MemberRole.Auditor;
    }

    function _balances() private view returns (uint256[] memory balances) {
        balances = new uint256[](actors.length);
        for (uint256 i = 0; i < actors.length; ++i) balances[i] = token.balanceOf(actors[i]);
    }

    function _addChange(int256[] memory change, address account, int256 amount) private view {
        uint256 index = _indexOf(account);
        if (index < actors.length) change[index] += amount;
    }

    function _balancesMatch(uint256[] memory before, int256[] memory change) private view returns (bool) {
        for (uint256 i = 0; i < actors.length; ++i) {
            if (int256(token.balanceOf(actors[i])) != int256(before[i]) + change[i]) return false;
        }
        return true;
    }

    function _checkBalances(uint256[] memory before, int256[] memory change, string memory breach) private {
        if (!_balancesMatch(before, change)) _moneyBreach(breach);
    }

    function _indexOf(address account) private view returns (uint256 index) {
        for (index = 0; index < actors.length; ++index) if (actors[index] == account) return index;
    }

    function _repeated(uint256[] memory ids, uint256 i) private pure returns (bool) {
        for (uint256 j = 0; j < i; ++j) if (ids[j] == ids[i]) return true;
        return false;
    }

    /// @dev A certificate and who acts on it: mostly its holder, sometimes anyone.
    function _certificateAndCaller(uint256 idSeed, uint256 actorSeed) private view returns (uint256 id, address caller) {
        id = _certificate(idSeed);
        if (id == 0) return (0, _actor(actorSeed));
        address lastHolder = ledger.certificate(id).lastHolder;
        caller = actorSeed % 4 == 3 || lastHolder == address(0) ? _actor(actorSeed >> 2) : lastHolder;
    }

    /// @dev A certificate, 0 if none: mostly the first live one from a random place, else any.
    function _certificate(uint256 seed) private view returns (uint256) {
        uint256 next = ledger.nextCertificateId();
        if (next == 1) return 0;
        uint256 start = seed % (next - 1);
        if ((seed >> 128) % 4 == 3) return 1 + start;
        for (uint256 k = 0; k < next - 1; ++k) {
            uint256 id = 1 + ((start + k) % (next - 1));
            if (ledger.certificate(id).status.isLive()) return id;
        }
        return 1 + start;
    }

    /// @dev Mostly a supplier or financier, who may receive certificates; sometimes anyone.
    function _receiver(uint256 seed) private view returns (address) {
        return seed % 4 == 3 ? _actor(seed >> 2) : actors[2 + (seed >> 2) % 5];
    }

    function _actor(uint256 seed) private view returns (address) {
        return actors[seed % actors.length];
    }

    function _sign(uint256 key, bytes32 digest) private pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = VM.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function _succeeded(bytes4 operation) private {
        ++successes[operation];
    }

    function _gateBreach(string memory what) private {
        ++gateBreaches;
        lastBreach = what;
    }

    function _moneyBreach(string memory what) private {
        ++moneyBreaches;
        lastBreach = what;
    }

    function _digit(uint256 i) private pure returns (string memory) {
        return string(abi.encodePacked(bytes1(uint8(48 + i))));
    }
}

/// @dev Which statuses a certificate is held in.
library CertificateStatusSet {
    function isLive(CertificateLedger.CertificateStatus status) internal pure returns (bool) {
        return status == CertificateLedger.CertificateStatus.Pending ||
            status == CertificateLedger.CertificateStatus.Active ||
            status == CertificateLedger.CertificateStatus.Financed ||
            status == CertificateLedger.CertificateStatus.Overdue;
    }
}
