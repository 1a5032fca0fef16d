"""The pipeline's shape, checked: stages import only earlier stages; only storage imports SQLAlchemy."""

from __future__ import annotations

import ast

from tests.conftest import ROOT

PACKAGE = ROOT / "monitor"
ORDER = ["types", "errors", "config", "sources", "articles", "matching", "stories", "digests", "delivery", "storage"]
# articles.clean is used by sources.folder to spot boilerplate titles: cleaning is the
# lowest text layer, so sources may use it.
ALLOWED_BACKWARD = {("sources", "articles")}


def imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "monitor" and len(parts) > 1 else None


def test_stages_only_import_earlier_stages():
    for path in PACKAGE.rglob("*.py"):
        own = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        if own not in ORDER or own == "storage":
            continue
        for module in imports(path):
            other = stage(module)
            if other in ORDER and other != own and (own, other) not in ALLOWED_BACKWARD:
                assert ORDER.index(other) < ORDER.index(own) or other in ("types", "errors"), f"{path}: imports {module}"


def test_only_storage_imports_sqlalchemy():
    for path in PACKAGE.rglob("*.py"):
        if "storage" in path.relative_to(PACKAGE).parts:
            continue
        assert not any(m.split(".")[0] in ("sqlalchemy", "alembic") for m in imports(path)), path
