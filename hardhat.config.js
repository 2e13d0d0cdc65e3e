// Hardhat 2 configuration. Hardhat is used to produce standard artifacts (for
// Slither and other tools); the Python library compiles on its own through
// scripts/solc. Both must use the same settings: see scf_chain/compiler.py.
//
// Nothing is downloaded: the compiler is the npm `solc` package (solcjs) pinned
// in package.json, instead of the build Hardhat would otherwise fetch.
"use strict";

const path = require("path");
const { subtask, task } = require("hardhat/config");
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } = require("hardhat/builtin-tasks/task-names");

const SOLC_VERSION = "0.8.30";

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async ({ solcVersion }, _hre, runSuper) => {
  if (solcVersion !== SOLC_VERSION) {
    return runSuper();
  }
  const solc = require("solc");
  const longVersion = solc.version().replace(".Emscripten.clang", "");
  if (!longVersion.startsWith(`${SOLC_VERSION}+`)) {
    throw new Error(`node_modules/solc is ${longVersion}, expected ${SOLC_VERSION}: run \`npm ci\``);
  }
  return {
    version: SOLC_VERSION,
    longVersion,
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
  };
});

// Prints the resolved compiler settings, so that scripts/check_contracts.py can
// confirm they are the ones scf_chain/compiler.py compiles with.
task("solc-settings", "Prints the resolved Solidity compiler version and settings as JSON").setAction(
  async (_args, hre) => {
    const [compiler] = hre.config.solidity.compilers;
    console.log(JSON.stringify({ version: compiler.version, settings: compiler.settings }));
  },
);

/** @type {import("hardhat/config").HardhatUserConfig} */
module.exports = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      // Keep in step with compiler_settings() in scf_chain/compiler.py.
      optimizer: { enabled: true, runs: 200 },
      viaIR: false,
      evmVersion: "cancun",
    },
  },
  paths: {
    sources: path.join(__dirname, "contracts"),
    cache: path.join(__dirname, "cache"),
    artifacts: path.join(__dirname, "artifacts"),
  },
};
