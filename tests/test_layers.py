"""The layers hold: the import-linter contracts in pyproject.toml (service -> resolvers ->
forecasts, the domain free of web and HTTP libraries) and no import cycle between any two
modules of the project, imports inside functions included."""

from __future__ import annotations

import logging
from pathlib import Path

import grimp
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("forecasts", "resolvers", "service")


def test_the_layer_contracts_are_kept(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(ROOT)
    # import-linter configures logging with dictConfig, which disables every logger that
    # exists by then: the later tests that read the service's warnings would see nothing.
    loggers = [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.disabled
    ]
    try:
        assert lint_imports(config_filename=str(ROOT / "pyproject.toml")) == 0
    finally:
        for logger in loggers:
            logger.disabled = False


def test_no_module_imports_itself_through_others() -> None:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    cycles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                cycles.append(" -> ".join((importer, *back)))
    assert not cycles, "import cycles:\n" + "\n".join(cycles)
