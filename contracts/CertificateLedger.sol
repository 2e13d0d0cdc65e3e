// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {CreditLines} from "./CreditLines.sol";
import {MemberRegistry} from "./MemberRegistry.sol";

/**
 * @title CertificateLedger
 * @notice Digital payable certificates: a core enterprise's confirmed payable, issued
 * against an invoice, split and passed down the supply chain by its holders, and paid
 * by the core enterprise (the obligor) at maturity to whoever holds the pieces.
 *
 * Certificates are ERC-721 tokens. A certificate's face value never changes: a split
 * retires the parent and creates children, so each issuance grows a clean tree whose
 * live leaves always sum to the issued face value. Every movement passes one gate in
 * {_update}, the desk's hand-over on recourse included: the ledger is not paused, the
 * receiver is an active member, and a certificate passed on is active, not frozen and
 * held by an active member ({_requireHeldBy}).
 *
 * Certificates are financed and paid in one settlement token, named at deployment.
 * The ledger never holds or moves money itself: the settlement desk (`SETTLEMENT_ROLE`)
 * moves the tokens and, in the same transaction, tells the ledger through its hooks
 * which certificates were financed, settled or handed back on recourse.
 *
 * Amounts are integers in minor units (1 = CNY 0.01). Dates are days since
 * 1970-01-01 UTC. Invoice numbers are kept only as the hash of their normalised form.
 */
contract CertificateLedger is ERC721, CreditLines {
    enum CertificateStatus {
        None,
        Pending,
        Active,
        Split,
        Cancelled,
        Financed,
        Settled,
        Overdue
    }

    /**
     * @dev Everything about a certificate in one storage slot, so that creating one
     * costs a single new slot. The holder is a member index (see {MemberRegistry});
     * a retired certificate keeps its last holder. `recourseSellerIndex` is the member
     * index of the seller of a certificate bought with recourse, whom recourse runs
     * against (see {recourseSeller}), and 0 for any other; it sits in the slot the sale
     * writes anyway. What a split created is in {Children}.
     */
    struct Certificate {
        uint32 holderIndex;
        uint64 faceValue;
        uint40 rootId;
        uint40 parentId;
        uint32 recourseSellerIndex;
        uint16 hops;
        CertificateStatus status;
        bool frozen;
    }

    /**
     * @dev The certificates a split created: the consecutive ids `firstChildId` to
     * `firstChildId + count - 1`. Beside the certificate, not in its slot, which has no
     * room left for both them and a seller.
     */
    struct Children {
        uint40 firstChildId;
        uint8 count;
    }

    struct Issuance {
        address obligor;
        uint32 maturityDay;
        uint40 rootId;
    }

    /// @notice One part of a split: `amount` minor units to `to`.
    struct Part {
        address to;
        uint256 amount;
    }

    /// @notice Everything the ledger records about one certificate.
    struct CertificateView {
        uint256 id;
        uint256 faceValue;
        address obligor;
        address holder;
        address lastHolder;
        uint256 maturityDay;
        uint256 rootId;
        uint256 parentId;
        uint256 hops;
        bytes32 documentHash;
        CertificateStatus status;
        bool frozen;
        uint256 firstChildId;
        uint256 childCount;
    }

    uint256 public constant MIN_PARTS = 2;
    uint256 public constant MAX_PARTS = 100;
    uint256 public constant MAX_TENOR_DAYS = 365;
    uint256 public constant MAX_FACE_VALUE = type(uint64).max;
    bytes32 public constant SETTLEMENT_ROLE = keccak256("SETTLEMENT_ROLE");

    IERC20 private immutable _settlementToken;

    mapping(uint256 id => Certificate) private _certificates;
    mapping(uint256 parentId => Children) private _children;
    mapping(address holder => uint256) private _holdingCounts;
    mapping(uint256 rootId => bytes32) private _documentOf;
    mapping(bytes32 documentHash => Issuance) private _issuances;
    mapping(uint256 rootId => uint256) private _settledAmounts;
    mapping(address obligor => mapping(bytes32 invoiceKey => uint256 rootId)) private _invoices;
    // Where the gateway shows a certificate; the id is appended. Nothing of the business is on chain in clear.
    string private _tokenURIBase;
    // Packed in one slot, read once by every issuance and movement.
    uint40 private _nextId = 1;
    uint16 private _maxHops;
    bool private _paused;
    // Set only while {transferOnRecourse} hands an overdue certificate back, for the gate to allow that one move.
    bool private transient _recourseHandOver;

    event CertificateIssued(
        uint256 indexed id,
        address indexed obligor,
        address indexed holder,
        uint256 faceValue,
        uint256 maturityDay,
        bytes32 documentHash
    );
    event CertificateAccepted(uint256 indexed id, address indexed holder);
    event CertificateRejected(uint256 indexed id, address indexed holder);
    event CertificateCancelled(uint256 indexed id, address indexed obligor);
    /// @dev Children are `firstChildId`, `firstChildId + 1`, ..., one per amount; their
    /// holders are in the ERC-721 {Transfer} events of the same transaction.
    event CertificateSplit(
        uint256 indexed parentId,
        uint256 indexed rootId,
        address indexed holder,
        uint256 firstChildId,
        uint256[] amounts
    );
    /// @dev `seller` sold certificate `id` to `financier`, who paid for it in the same transaction.
    event CertificateFinanced(uint256 indexed id, address indexed financier, address indexed seller);
    /// @dev The obligor paid `amount` for certificate `id` to its `holder`; `late` if it was overdue.
    event CertificateSettled(uint256 indexed id, uint256 indexed rootId, address indexed holder, uint256 amount, bool late);
    event CertificateOverdue(uint256 indexed id, uint256 indexed rootId);
    event CertificateFrozen(uint256 indexed id);
    event CertificateUnfrozen(uint256 indexed id);
    event HopLimitSet(uint256 maxHops);
    event TokenURIBaseSet(string tokenURIBase);
    event Paused(address account);
    event Unpaused(address account);

    /**
     * @dev Reverts while the operator has paused the ledger, for the entry points that change
     * a certificate without moving it; every movement is held by the gate ({_update}) instead.
     */
    modifier whenNotPaused() {
        _requireNotPaused();
        _;
    }

    /// @param token the ERC-20 every certificate of this ledger is financed and paid in.
    constructor(
        address operator,
        IERC20 token
    ) ERC721("scf-chain payable certificate", "SCFC") MemberRegistry(operator) {
        if (address(token) == address(0)) revert InvalidSettlementToken(address(token));
        _settlementToken = token;
    }

    // Issuance

    /**
     * @notice Issues a certificate of `faceValue` to supplier `holder`, payable by the
     * caller on `maturityDay`, against the document whose hash is `documentHash` and
     * the invoice whose normalised number hashes to `invoiceKey`.
     * The certificate is pending until the holder accepts it.
     *
     * Emits a {CertificateIssued} event.
     *
     * Requirements:
     * - the caller is an active core enterprise and `holder` an active supplier;
     * - `faceValue` is positive and within the caller's available credit;
     * - `maturityDay` is between today and one year from today;
     * - `documentHash` has never backed an issuance;
     * - `invoiceKey` is not zero and backs no issuance of the caller but a cancelled or rejected one.
     */
    function issue(
        address holder,
        uint256 faceValue,
        uint256 maturityDay,
        bytes32 documentHash,
        bytes32 invoiceKey
    ) external returns (uint256 id) {
        _requireActiveMember(msg.sender, MemberRole.CoreEnterprise);
        _requireActiveMember(holder, MemberRole.Supplier);
        if (faceValue == 0) revert ZeroFaceValue();
        if (faceValue > MAX_FACE_VALUE) revert FaceValueTooLarge(faceValue, MAX_FACE_VALUE);
        uint256 today = block.timestamp / 1 days;
        if (maturityDay < today) revert MaturityInPast(maturityDay, today);
        if (maturityDay > today + MAX_TENOR_DAYS) revert MaturityTooFar(maturityDay, today + MAX_TENOR_DAYS);
        if (documentHash == bytes32(0)) revert EmptyDocumentHash();
        uint256 usedBy = _issuances[documentHash].rootId;
        if (usedBy != 0) revert DocumentAlreadyUsed(documentHash, usedBy);
        _claimInvoice(invoiceKey);
        _drawCredit(msg.sender, faceValue);

        id = _nextId;
        _nextId = uint40(id + 1);
        _invoices[msg.sender][invoiceKey] = id;
        _issuances[documentHash] = Issuance({
            obligor: msg.sender,
            maturityDay: uint32(maturityDay),
            rootId: uint40(id)
        });
        _documentOf[id] = documentHash;
        _certificates[id] = Certificate({
            holderIndex: 0,
            faceValue: uint64(faceValue),
            rootId: uint40(id),
            parentId: 0,
            recourseSellerIndex: 0,
            hops: 0,
            status: CertificateStatus.Pending,
            frozen: false
        });
        _mint(holder, id);
        emit CertificateIssued(id, msg.sender, holder, faceValue, maturityDay, documentHash);
    }

    /**
     * @notice Accepts pending certificate `id`, which makes it active.
     *
     * Emits a {CertificateAccepted} event.
     *
     * Requirements:
     * - the certificate is pending and not frozen;
     * - the caller is the certificate's receiver and an active member.
     */
    function accept(uint256 id) external whenNotPaused {
        _requireHeldBy(id, msg.sender, CertificateStatus.Pending);
        _certificates[id].status = CertificateStatus.Active;
        emit CertificateAccepted(id, msg.sender);
    }

    /**
     * @notice Rejects pending certificate `id`: it is cancelled and the obligor's credit
     * is given back.
     *
     * Emits a {CertificateRejected} event.
     *
     * Requirements:
     * - the certificate is pending and not frozen;
     * - the caller is the certificate's receiver and an active member.
     */
    function reject(uint256 id) external {
        _requireHeldBy(id, msg.sender, CertificateStatus.Pending);
        _cancel(id);
        emit CertificateRejected(id, msg.sender);
    }

    /**
     * @notice Cancels certificate `id` while it is still pending, giving the credit back.
     *
     * Emits a {CertificateCancelled} event.
     *
     * Requirements:
     * - the caller is the certificate's obligor and an active member;
     * - the certificate is pending and not frozen.
     */
    function cancel(uint256 id) external {
        Certificate storage cert = _requireUnfrozen(id, CertificateStatus.Pending);
        if (_obligorOf(cert.rootId) != msg.sender) revert NotCertificateObligor(id, msg.sender);
        _requireActive(msg.sender);
        _cancel(id);
        emit CertificateCancelled(id, msg.sender);
    }

    // Movement

    /**
     * @notice Splits certificate `id` into 2 to 100 new certificates, one per part.
     * The parent is retired; parts may go back to the caller.
     *
     * Emits a {CertificateSplit} event and an ERC-721 {Transfer} for each movement.
     *
     * Requirements:
     * - the caller is an active member holding the certificate, which is active and not frozen;
     * - every part is positive and goes to an eligible member;
     * - the parts sum exactly to the certificate's face value.
     */
    function split(uint256 id, Part[] calldata parts) external returns (uint256 firstChildId) {
        uint256 count = parts.length;
        if (count < MIN_PARTS || count > MAX_PARTS) revert InvalidPartCount(count);
        // Checked before the children are created: the burn that retires the parent passes the gate as a burn.
        Certificate memory parent = _requireHeldBy(id, msg.sender, CertificateStatus.Active);
        uint256 faceValue = parent.faceValue;
        firstChildId = _nextId;

        uint256[] memory amounts = new uint256[](count);
        // slither-disable-next-line uninitialized-local (zero is the intended start, as for every Solidity local)
        uint256 sum;
        for (uint256 i = 0; i < count; ++i) {
            uint256 amount = parts[i].amount;
            if (amount == 0) revert ZeroPartAmount(i);
            // A part above the face value cannot sum right; rejecting it here also keeps the sum from overflowing.
            if (amount > faceValue) revert SplitSumMismatch(id, faceValue, amount);
            sum += amount;
            amounts[i] = amount;
            _createChild(id, parent, msg.sender, parts[i].to, amount, firstChildId + i);
        }
        if (sum != faceValue) revert SplitSumMismatch(id, faceValue, sum);
        _retire(id, parent, msg.sender, firstChildId, amounts);
    }

    /**
     * @notice Pays `amount` of certificate `id` to `to`: the certificate is split into
     * the remainder, which stays with the caller, and the part, which goes to `to`.
     *
     * Emits a {CertificateSplit} event and an ERC-721 {Transfer} for each movement.
     *
     * Requirements:
     * - the caller is an active member holding the certificate, which is active and not frozen;
     * - `amount` is positive and less than the face value;
     * - `to` is an eligible member.
     */
    function transferPart(uint256 id, address to, uint256 amount) external returns (uint256 remainderId, uint256 partId) {
        Certificate memory parent = _requireHeldBy(id, msg.sender, CertificateStatus.Active);
        if (amount == 0) revert ZeroPartAmount(1);
        if (amount >= parent.faceValue) revert PartNotLessThanFace(id, parent.faceValue, amount);
        if (to == msg.sender) revert TransferToHolder(id, to);
        return _splitOff(id, parent, msg.sender, to, amount);
    }

    // Settlement desk hooks

    /**
     * @notice Sells certificate `id` of `holder` to `financier`: the whole of it when
     * `amount` is 0 or the face value, else a part of `amount` split off it, the
     * remainder staying with `holder`. The certificate sold becomes financed and can no
     * longer move; `withRecourse` records `holder` as its seller. The desk pays `holder`
     * in the same transaction.
     *
     * Emits a {CertificateFinanced} event, a {CertificateSplit} event for a part, and
     * an ERC-721 {Transfer} for each movement.
     *
     * Requirements:
     * - the caller holds `SETTLEMENT_ROLE`;
     * - `holder` is an active member holding the certificate, which is active and not frozen;
     * - `financier` is an active financier;
     * - the certificate matures after today, and `amount` is not above its face value.
     *
     * @return financedId the certificate `financier` now holds.
     * @return faceValue its face value.
     * @return maturityDay the day it matures.
     */
    function finance(
        address holder,
        uint256 id,
        uint256 amount,
        address financier,
        bool withRecourse
    ) external onlyRole(SETTLEMENT_ROLE) returns (uint256 financedId, uint256 faceValue, uint256 maturityDay) {
        // Checked before anything moves, since a part is split off first; a whole sale's transfer passes the gate too.
        Certificate memory cert = _requireHeldBy(id, holder, CertificateStatus.Active);
        _requireActiveMember(financier, MemberRole.Financier);
        maturityDay = _issuances[_documentOf[cert.rootId]].maturityDay;
        uint256 today = block.timestamp / 1 days;
        if (maturityDay <= today) revert CertificateMatured(id, maturityDay, today);
        faceValue = cert.faceValue;
        if (amount == 0 || amount == faceValue) {
            financedId = id;
            _transfer(holder, financier, id);
        } else {
            if (amount > faceValue) revert FinanceAmountAboveFace(id, faceValue, amount);
            (, financedId) = _splitOff(id, cert, holder, financier, amount);
            faceValue = amount;
        }
        Certificate storage financed = _certificates[financedId];
        financed.status = CertificateStatus.Financed;
        if (withRecourse) financed.recourseSellerIndex = cert.holderIndex;
        emit CertificateFinanced(financedId, financier, holder);
    }

    /**
     * @notice Settles certificates `ids` of issuance `rootId`: each is retired as
     * settled, keeping its last holder, and the amount each holder is owed is returned
     * for the desk to draw from the obligor. Certificates settled already are skipped
     * (holder and amount zero). The obligor's credit is given back by the total.
     *
     * `caller` is the obligor settling, or with `presented` a holder presenting its own
     * certificates.
     *
     * Emits a {CertificateSettled} event and an ERC-721 {Transfer} for each certificate settled.
     *
     * Requirements:
     * - the caller holds `SETTLEMENT_ROLE`;
     * - the ledger is not paused, checked by the gate as each certificate is retired (a call
     *   that settles nothing changes nothing);
     * - the issuance has matured and its obligor is an active member;
     * - `caller` is the obligor, or with `presented` holds every certificate listed;
     * - every certificate belongs to the issuance, is active, financed, overdue or settled,
     *   and is not frozen; its holder is an active member.
     */
    function settle(
        address caller,
        uint256 rootId,
        uint256[] calldata ids,
        bool presented
    )
        external
        onlyRole(SETTLEMENT_ROLE)
        returns (address obligor, address[] memory holders, uint256[] memory amounts)
    {
        obligor = _requireMatured(rootId);
        if (!presented && caller != obligor) revert NotCertificateObligor(rootId, caller);
        uint256 count = ids.length;
        holders = new address[](count);
        amounts = new uint256[](count);
        // slither-disable-next-line uninitialized-local (zero is the intended start, as for every Solidity local)
        uint256 total;
        for (uint256 i = 0; i < count; ++i) {
            (address holder, uint256 amount) = _settle(ids[i], rootId);
            if (presented && holder != caller) revert NotCertificateHolder(ids[i], caller);
            holders[i] = holder;
            amounts[i] = amount;
            total += amount;
        }
        _recordSettled(obligor, rootId, total);
    }

    /**
     * @notice Marks certificates `ids` of issuance `rootId` overdue, once its maturity
     * day and `graceDays` more have passed unpaid. Overdue certificates cannot move;
     * the obligor can still settle them, late. Overdue or settled ones are skipped.
     *
     * Emits a {CertificateOverdue} event for each certificate marked.
     *
     * Requirements:
     * - the caller holds `SETTLEMENT_ROLE`;
     * - every certificate belongs to the issuance, is active or financed, and is not frozen.
     */
    function markOverdue(
        uint256 rootId,
        uint256[] calldata ids,
        uint256 graceDays
    ) external onlyRole(SETTLEMENT_ROLE) whenNotPaused {
        (, uint256 maturityDay) = _issuanceOf(rootId);
        uint256 today = block.timestamp / 1 days;
        uint256 overdueDay = maturityDay + graceDays + 1;
        if (today < overdueDay) revert GracePeriodNotOver(rootId, overdueDay, today);
        for (uint256 i = 0; i < ids.length; ++i) {
            uint256 id = ids[i];
            CertificateStatus status = _requireInIssuance(id, rootId);
            if (status == CertificateStatus.Overdue || status == CertificateStatus.Settled) continue;
            if (status != CertificateStatus.Active && status != CertificateStatus.Financed) {
                revert CertificateWrongStatus(id, uint8(status), uint8(CertificateStatus.Active));
            }
            Certificate storage cert = _certificates[id];
            // Frozen means unchanged, so not marked overdue either (found by tests/invariants).
            if (cert.frozen) revert CertificateIsFrozen(id);
            cert.status = CertificateStatus.Overdue;
            emit CertificateOverdue(id, rootId);
        }
    }

    /**
     * @notice Hands overdue certificate `id` back to `seller`, who has paid its financier
     * under recourse and now stands in the financier's place against the obligor. The
     * certificate stays overdue and makes no hop.
     *
     * Emits an ERC-721 {Transfer} event.
     *
     * Requirements:
     * - the caller holds `SETTLEMENT_ROLE`;
     * - the gate's, for a hand-over on recourse (see {_update}): the certificate is overdue
     *   and not frozen, its holder an active member and `seller` an eligible one.
     */
    function transferOnRecourse(uint256 id, address seller) external onlyRole(SETTLEMENT_ROLE) {
        _recourseHandOver = true;
        _transfer(_ownerOf(id), seller, id);
        // Transient storage lasts the whole transaction: cleared so that no later move in it is taken for this one.
        _recourseHandOver = false;
    }

    // Operator controls

    /**
     * @notice Freezes certificate `id`, for example under a court order: it cannot move
     * or change until unfrozen.
     *
     * Emits a {CertificateFrozen} event.
     */
    function freezeCertificate(uint256 id) external onlyRole(OPERATOR_ROLE) {
        _requireExists(id);
        _certificates[id].frozen = true;
        emit CertificateFrozen(id);
    }

    /**
     * @notice Lifts the freeze on certificate `id`.
     *
     * Emits a {CertificateUnfrozen} event.
     */
    function unfreezeCertificate(uint256 id) external onlyRole(OPERATOR_ROLE) {
        _requireExists(id);
        _certificates[id].frozen = false;
        emit CertificateUnfrozen(id);
    }

    /**
     * @notice Sets the penetration limit: the most hops a certificate's value may make
     * from the first holder. Zero means no limit.
     *
     * Emits a {HopLimitSet} event.
     */
    function setMaxHops(uint16 newMaxHops) external onlyRole(OPERATOR_ROLE) {
        _maxHops = newMaxHops;
        emit HopLimitSet(newMaxHops);
    }

    /**
     * @notice Sets where {tokenURI} points: the gateway's certificate address, to which
     * the id is appended (for example `https://gateway.example/v1/certificates/`).
     *
     * Emits a {TokenURIBaseSet} event.
     */
    function setTokenURIBase(string calldata tokenURIBase) external onlyRole(OPERATOR_ROLE) {
        _tokenURIBase = tokenURIBase;
        emit TokenURIBaseSet(tokenURIBase);
    }

    /**
     * @notice Stops every issuance and movement on the ledger.
     *
     * Emits a {Paused} event.
     */
    function pause() external onlyRole(OPERATOR_ROLE) {
        if (_paused) revert LedgerPaused();
        _paused = true;
        emit Paused(msg.sender);
    }

    /**
     * @notice Resumes the ledger.
     *
     * Emits an {Unpaused} event.
     */
    function unpause() external onlyRole(OPERATOR_ROLE) {
        if (!_paused) revert LedgerNotPaused();
        _paused = false;
        emit Unpaused(msg.sender);
    }

    /// @notice Whether the operator has paused the ledger.
    function paused() external view returns (bool) {
        return _paused;
    }

    // Reads

    /// @notice Everything recorded about certificate `id`. Retired certificates have no holder.
    function certificate(uint256 id) external view returns (CertificateView memory view_) {
        Certificate memory cert = _requireExists(id);
        bytes32 documentHash = _documentOf[cert.rootId];
        Issuance memory issuance = _issuances[documentHash];
        Children memory children_ = _children[id];
        view_ = CertificateView({
            id: id,
            faceValue: cert.faceValue,
            obligor: issuance.obligor,
            holder: _ownerOf(id),
            lastHolder: _memberAt(cert.holderIndex),
            maturityDay: issuance.maturityDay,
            rootId: cert.rootId,
            parentId: cert.parentId,
            hops: cert.hops,
            documentHash: documentHash,
            status: cert.status,
            frozen: cert.frozen,
            firstChildId: children_.firstChildId,
            childCount: children_.count
        });
    }

    /// @notice The ids from the parent of certificate `id` up to its root, nearest first.
    function ancestry(uint256 id) external view returns (uint256[] memory ids) {
        Certificate memory cert = _requireExists(id);
        // slither-disable-next-line uninitialized-local (zero is the intended start, as for every Solidity local)
        uint256 depth;
        for (uint256 cursor = cert.parentId; cursor != 0; cursor = _certificates[cursor].parentId) ++depth;
        ids = new uint256[](depth);
        uint256 next = cert.parentId;
        for (uint256 i = 0; i < depth; ++i) {
            ids[i] = next;
            next = _certificates[next].parentId;
        }
    }

    /// @notice The ids of the certificates that certificate `id` was split into.
    function children(uint256 id) external view returns (uint256[] memory ids) {
        _requireExists(id);
        Children memory children_ = _children[id];
        ids = new uint256[](children_.count);
        for (uint256 i = 0; i < ids.length; ++i) ids[i] = children_.firstChildId + i;
    }

    /// @notice The root id of the issuance that `documentHash` backs, or 0 if none.
    function issuanceOf(bytes32 documentHash) external view returns (uint256 rootId) {
        return _issuances[documentHash].rootId;
    }

    /// @notice The root id of the issuance `obligor` made against the invoice of `invoiceKey`, or 0 if none.
    function issuanceOfInvoice(address obligor, bytes32 invoiceKey) external view returns (uint256 rootId) {
        return _invoices[obligor][invoiceKey];
    }

    /// @notice The id the next certificate will get.
    function nextCertificateId() external view returns (uint256) {
        return _nextId;
    }

    /// @notice The token every certificate of this ledger is financed and paid in.
    function settlementToken() external view returns (IERC20) {
        return _settlementToken;
    }

    /// @notice The member who sold certificate `id` with recourse to its financier; the zero address if none.
    function recourseSeller(uint256 id) external view returns (address) {
        return _memberAt(_requireExists(id).recourseSellerIndex);
    }

    /// @notice How much of issuance `rootId` its obligor has paid, in minor units; never above its face value.
    function settledAmount(uint256 rootId) external view returns (uint256) {
        return _settledAmounts[rootId];
    }

    /// @notice The penetration limit; zero means none.
    function maxHops() external view returns (uint256) {
        return _maxHops;
    }

    /**
     * @notice Where the gateway shows certificate `tokenId`, retired ones included; it
     * answers only members who may see the certificate.
     */
    function tokenURI(uint256 tokenId) public view override returns (string memory) {
        _requireExists(tokenId);
        return string.concat(_tokenURIBase, Strings.toString(tokenId));
    }

    /// @inheritdoc ERC721
    function supportsInterface(bytes4 interfaceId) public view override(ERC721, AccessControl) returns (bool) {
        return super.supportsInterface(interfaceId);
    }

    // The gate

    /**
     * @dev The one gate every certificate movement passes, mint and burn included.
     *
     * A retirement (a burn) is checked by the operation that retires the certificate, before
     * it changes anything: a split, a rejection or cancellation, a settlement.
     *
     * A transfer moves an active certificate and counts a hop, except the desk's hand-over
     * of an overdue certificate back to its seller on recourse ({transferOnRecourse}, which
     * sets `_recourseHandOver` for that one move): it needs the certificate overdue instead,
     * and makes no hop, since the seller only takes back what it sold.
     *
     * Emits an ERC-721 {Transfer} event.
     *
     * Requirements:
     * - the ledger is not paused;
     * - a receiver is an active member that may hold certificates, and not the certificate's obligor;
     * - for a transfer between holders: the receiver is not the sender; an approved caller is
     *   an active member that may hold certificates; the certificate is active (overdue, on
     *   recourse), not frozen and held by an active member ({_requireHeldBy}); the hop limit holds.
     */
    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        _requireNotPaused();
        Certificate storage cert = _certificates[tokenId];
        from = _ownerOf(tokenId);
        // slither-disable-next-line uninitialized-local (stays zero for a burn, which has no receiver)
        uint32 toIndex;
        if (to != address(0)) {
            toIndex = _requireEligibleHolder(to).index;
            if (to == _obligorOf(cert.rootId)) revert TransferToObligor(tokenId, to);
        }
        if (from != address(0) && to != address(0)) {
            if (to == from) revert TransferToHolder(tokenId, to);
            if (auth != address(0) && auth != from) _requireEligibleHolder(auth);
            bool onRecourse = _recourseHandOver;
            _requireHeldBy(tokenId, from, onRecourse ? CertificateStatus.Overdue : CertificateStatus.Active);
            if (!onRecourse) cert.hops = _nextHops(tokenId, cert.hops);
        }
        if (auth != address(0)) _checkAuthorized(from, auth, tokenId);
        _record(from, to, toIndex, tokenId, cert);
    }

    /**
     * @dev Records certificate `tokenId`, checked by the gate, as moved from `from` to `to`
     * (member `toIndex`): holding counts, approval, holder.
     *
     * Emits an ERC-721 {Transfer} event.
     */
    function _record(address from, address to, uint32 toIndex, uint256 tokenId, Certificate storage cert) private {
        if (from != address(0)) {
            _approve(address(0), tokenId, address(0), false);
            unchecked {
                --_holdingCounts[from];
            }
        }
        // A burn keeps the last holder on record; the caller retires the certificate.
        if (to != address(0)) {
            unchecked {
                ++_holdingCounts[to];
            }
            cert.holderIndex = toIndex;
        }
        emit Transfer(from, to, tokenId);
    }

    /// @dev Approves only members who may hold certificates; clearing an approval is always allowed.
    function _approve(address to, uint256 tokenId, address auth, bool emitEvent) internal override {
        if (to != address(0)) _requireEligibleHolder(to);
        super._approve(to, tokenId, auth, emitEvent);
    }

    /// @dev Makes only members who may hold certificates operators of a holder's certificates.
    function _setApprovalForAll(address owner, address operator, bool approved) internal override {
        if (approved) _requireEligibleHolder(operator);
        super._setApprovalForAll(owner, operator, approved);
    }

    /// @dev The holder of a live certificate; the zero address for a retired or unknown one.
    function _ownerOf(uint256 tokenId) internal view override returns (address) {
        Certificate storage cert = _certificates[tokenId];
        if (cert.holderIndex == 0 || !_isLive(cert.status)) return address(0);
        return _memberAt(cert.holderIndex);
    }

    /// @inheritdoc ERC721
    function balanceOf(address owner) public view override returns (uint256) {
        if (owner == address(0)) revert ERC721InvalidOwner(address(0));
        return _holdingCounts[owner];
    }

    // Internals

    /**
     * @dev Creates active certificate `id` of `amount` under `parentId`, held by `to`.
     * A part that leaves `holder` makes one more hop.
     */
    function _createChild(
        uint256 parentId,
        Certificate memory parent,
        address holder,
        address to,
        uint256 amount,
        uint256 id
    ) private {
        _certificates[id] = Certificate({
            holderIndex: 0,
            faceValue: uint64(amount),
            rootId: parent.rootId,
            parentId: uint40(parentId),
            recourseSellerIndex: 0,
            hops: to == holder ? parent.hops : _nextHops(parentId, parent.hops),
            status: CertificateStatus.Active,
            frozen: false
        });
        _mint(to, id);
    }

    /**
     * @dev Retires certificate `id` into its children `firstChildId...` of `amounts`.
     *
     * Emits a {CertificateSplit} event.
     */
    function _retire(
        uint256 id,
        Certificate memory parent,
        address holder,
        uint256 firstChildId,
        uint256[] memory amounts
    ) private {
        _burn(id);
        _certificates[id].status = CertificateStatus.Split;
        _children[id] = Children({firstChildId: uint40(firstChildId), count: uint8(amounts.length)});
        _nextId = uint40(firstChildId + amounts.length);
        emit CertificateSplit(id, parent.rootId, holder, firstChildId, amounts);
    }

    /**
     * @dev Splits active certificate `id` of `holder` in two: the remainder stays with
     * `holder`, and the part of `amount` (less than the face value) goes to `to`.
     *
     * Emits a {CertificateSplit} event and an ERC-721 {Transfer} for each movement.
     */
    function _splitOff(
        uint256 id,
        Certificate memory parent,
        address holder,
        address to,
        uint256 amount
    ) private returns (uint256 remainderId, uint256 partId) {
        remainderId = _nextId;
        partId = remainderId + 1;
        uint256[] memory amounts = new uint256[](2);
        amounts[0] = parent.faceValue - amount;
        amounts[1] = amount;
        _createChild(id, parent, holder, holder, amounts[0], remainderId);
        _createChild(id, parent, holder, to, amount, partId);
        _retire(id, parent, holder, remainderId, amounts);
    }

    /**
     * @dev Retires certificate `id` of issuance `rootId` as settled and returns its
     * holder and face value, or nothing for a certificate settled already.
     *
     * Emits a {CertificateSettled} event and an ERC-721 {Transfer}.
     */
    function _settle(uint256 id, uint256 rootId) private returns (address holder, uint256 amount) {
        CertificateStatus status = _requireInIssuance(id, rootId);
        if (status == CertificateStatus.Settled) return (address(0), 0);
        if (!_isLive(status) || status == CertificateStatus.Pending) {
            revert CertificateWrongStatus(id, uint8(status), uint8(CertificateStatus.Active));
        }
        holder = _memberAt(_certificates[id].holderIndex);
        // The rule for a certificate leaving its holder: here, unfrozen and paid to an active member.
        amount = _requireHeldBy(id, holder, status).faceValue;
        _burn(id);
        _certificates[id].status = CertificateStatus.Settled;
        emit CertificateSettled(id, rootId, holder, amount, status == CertificateStatus.Overdue);
    }

    /// @dev Adds `total` to what issuance `rootId` has settled and gives it back to `obligor`'s credit line.
    function _recordSettled(address obligor, uint256 rootId, uint256 total) private {
        if (total == 0) return;
        _releaseCredit(obligor, total);
        uint256 settled = _settledAmounts[rootId] + total;
        uint256 faceValue = _certificates[rootId].faceValue;
        if (settled > faceValue) revert SettledAboveFace(rootId, faceValue, settled);
        _settledAmounts[rootId] = settled;
    }

    /// @dev Reverts unless issuance `rootId` has matured and its obligor is an active member; returns the obligor.
    function _requireMatured(uint256 rootId) private view returns (address obligor) {
        uint256 maturityDay;
        (obligor, maturityDay) = _issuanceOf(rootId);
        _requireActive(obligor);
        uint256 today = block.timestamp / 1 days;
        if (today < maturityDay) revert NotYetMatured(rootId, maturityDay, today);
    }

    /// @dev Reverts unless `rootId` is the root of an issuance; returns its obligor and maturity day.
    function _issuanceOf(uint256 rootId) private view returns (address obligor, uint256 maturityDay) {
        uint256 root = _requireExists(rootId).rootId;
        if (root != rootId) revert NotAnIssuanceRoot(rootId, root);
        Issuance memory issuance = _issuances[_documentOf[rootId]];
        return (issuance.obligor, issuance.maturityDay);
    }

    /// @dev Reverts unless certificate `id` exists and belongs to issuance `rootId`; returns its status.
    function _requireInIssuance(uint256 id, uint256 rootId) private view returns (CertificateStatus status) {
        Certificate memory cert = _requireExists(id);
        if (cert.rootId != rootId) revert CertificateNotInIssuance(id, rootId);
        return cert.status;
    }

    /// @dev Cancels pending certificate `id` and gives its obligor's credit back.
    function _cancel(uint256 id) private {
        _burn(id);
        Certificate storage cert = _certificates[id];
        cert.status = CertificateStatus.Cancelled;
        _releaseCredit(_obligorOf(cert.rootId), cert.faceValue);
    }

    /**
     * @dev The hop count after one more hop from `hops`, within the penetration limit.
     * Without a limit the counter's own range is the limit: a hop beyond it is refused
     * rather than counted wrong, since the count is what auditors read.
     */
    function _nextHops(uint256 id, uint16 hops) private view returns (uint16) {
        uint256 limit = _maxHops;
        if (limit == 0) limit = type(uint16).max;
        uint256 next = uint256(hops) + 1;
        if (next > limit) revert HopLimitExceeded(id, next, limit);
        return uint16(next);
    }

    /**
     * @dev Reverts unless the caller may issue against the invoice of `invoiceKey`: it has
     * none, or only a cancelled or rejected one, whose invoice may be issued again.
     */
    function _claimInvoice(bytes32 invoiceKey) private view {
        if (invoiceKey == bytes32(0)) revert EmptyInvoiceNumber();
        uint256 usedBy = _invoices[msg.sender][invoiceKey];
        if (usedBy != 0 && _certificates[usedBy].status != CertificateStatus.Cancelled) {
            revert InvoiceAlreadyUsed(msg.sender, invoiceKey, usedBy);
        }
    }

    /**
     * @dev The gate's rule for a certificate its holder gives up or answers for: the gate
     * ({_update}) applies it to every transfer, and the operations that act on a certificate
     * before they move anything (a split, a sale, accepting or rejecting, settlement) apply
     * it themselves. Returns the certificate.
     *
     * Requirements:
     * - certificate `id` exists, has `status` and is not frozen;
     * - `holder` holds it and is an active member.
     */
    function _requireHeldBy(
        uint256 id,
        address holder,
        CertificateStatus status
    ) private view returns (Certificate storage cert) {
        cert = _requireUnfrozen(id, status);
        // Every status a holder acts on is a live one, whose holder is `holderIndex`.
        if (_memberAt(cert.holderIndex) != holder) revert NotCertificateHolder(id, holder);
        _requireActive(holder);
    }

    /**
     * @dev Reverts unless certificate `id` exists, has `status` and is not frozen; returns it.
     * In storage, so that the gate reads only the fields it checks.
     */
    function _requireUnfrozen(uint256 id, CertificateStatus status) private view returns (Certificate storage cert) {
        cert = _certificates[id];
        CertificateStatus actual = cert.status;
        if (actual == CertificateStatus.None) revert CertificateNotFound(id);
        if (actual != status) revert CertificateWrongStatus(id, uint8(actual), uint8(status));
        if (cert.frozen) revert CertificateIsFrozen(id);
    }

    function _requireExists(uint256 id) private view returns (Certificate memory cert) {
        cert = _certificates[id];
        if (cert.status == CertificateStatus.None) revert CertificateNotFound(id);
    }

    /// @dev Whether a certificate of `status` is held by someone: not yet retired.
    function _isLive(CertificateStatus status) private pure returns (bool) {
        return status == CertificateStatus.Pending || status == CertificateStatus.Active
            || status == CertificateStatus.Financed || status == CertificateStatus.Overdue;
    }

    function _requireNotPaused() private view {
        if (_paused) revert LedgerPaused();
    }

    function _obligorOf(uint256 rootId) private view returns (address) {
        return _issuances[_documentOf[rootId]].obligor;
    }
}
