// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";

/**
 * @dev Plain OpenZeppelin tokens, deployed beside the ledger only so that gas reports
 * can compare the ledger's operations with the standard ones on the same chain.
 * They are not part of the product.
 */
contract BaselineERC20 is ERC20 {
    constructor() ERC20("Baseline", "BASE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}

/// @dev See {BaselineERC20}.
contract BaselineERC721 is ERC721 {
    constructor() ERC721("Baseline", "BASE") {}

    function mint(address to, uint256 tokenId) external {
        _mint(to, tokenId);
    }
}

/// @dev See {BaselineERC20}.
contract BaselineERC1155 is ERC1155 {
    constructor() ERC1155("") {}

    function mint(address to, uint256 id, uint256 amount) external {
        _mint(to, id, amount, "");
    }
}
