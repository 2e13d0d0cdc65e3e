"""The explorer's ES modules, read as files: one entry, imports that resolve, no cycles, no orphans.

The page has no bundler, so the browser follows these imports as written; a module that no
import reaches is dead code, and a cycle would make the evaluation order matter.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from api.routes.explorer import STATIC_DIR

ENTRY = "app.js"
IMPORT = re.compile(r'^import\s*\{[^}]*\}\s*from\s*"\./([^"]+)";', re.MULTILINE)
NODE = shutil.which("node")


def _imports() -> dict[str, list[str]]:
    return {path.name: IMPORT.findall(path.read_text(encoding="utf-8")) for path in sorted(STATIC_DIR.glob("*.js"))}


def test_the_page_loads_one_module_entry_and_nothing_inline() -> None:
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts == [f'<script type="module" src="/explorer/assets/{ENTRY}">']
    assert re.search(r"<script\b[^>]*>\s*[^<\s]", html) is None  # the policy allows no inline script
    assert re.search(r"\son[a-z]+\s*=", html) is None  # nor inline handlers


def test_every_module_is_imported_from_the_entry_and_every_import_is_a_module() -> None:
    graph = _imports()
    for module, imported in graph.items():
        missing = [name for name in imported if name not in graph]
        assert missing == [], f"{module} imports {missing}, which are not in {STATIC_DIR}"
    reached = {ENTRY}
    todo = [ENTRY]
    while todo:
        for name in graph[todo.pop()]:
            if name not in reached:
                reached.add(name)
                todo.append(name)
    assert sorted(set(graph) - reached) == []


def test_the_modules_import_one_way_without_cycles() -> None:
    graph = _imports()
    done: set[str] = set()

    def visit(module: str, trail: tuple[str, ...]) -> None:
        assert module not in trail, f"import cycle: {' -> '.join((*trail, module))}"
        if module in done:
            return
        for name in graph[module]:
            visit(name, (*trail, module))
        done.add(module)

    for module in graph:
        visit(module, ())


@pytest.mark.skipif(NODE is None, reason="Node.js is not on PATH")
def test_every_module_parses_and_its_imports_link(tmp_path: Path) -> None:
    # Node links the modules as the browser would (every imported name must be exported); the
    # entry touches the page as it runs, so it is only parsed.
    assert NODE is not None
    for path in STATIC_DIR.glob("*.js"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "package.json").write_text('{"type": "module"}', encoding="utf-8")
    entry = subprocess.run([NODE, "--check", str(tmp_path / ENTRY)], capture_output=True, text=True, timeout=60)
    assert entry.returncode == 0, entry.stderr
    modules = sorted(name for name in _imports() if name != ENTRY)
    script = "".join(f'await import("./{name}");' for name in modules)
    linked = subprocess.run(
        [NODE, "--input-type=module", "-e", script], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert linked.returncode == 0, linked.stderr
