"""Great Expectations suites over the leakage report and the batch accounting, with Data Docs.

One suite with an expectation per leakage rule (`transforms.leakage.LEAKAGE_RULES`, the single definition
of "clean"), and one for accounting; each expectation's outcome is one check. They run on the Spark
DataFrames through a file-backed GX context kept in the warehouse (`<warehouse>/gx`), so the Data Docs of
every validation stay browsable next to the data. Failing rows are reported by file hash only (the report
holds no PHI).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame

from transforms.leakage import LeakageRule

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")      # nothing leaves the machine
ACCOUNTING_SUITE = "accounting"
LEAKAGE_SUITE = "leakage"
CHECK_KEY = "check"            # each expectation's meta names the check (the rule) it stands for
INDEX_COLUMN = "sha256"


@dataclass(frozen=True)
class CheckOutcome:
    """One expectation's verdict: `name` is the check (the rule) it stands for."""
    name: str
    success: bool
    evaluated: int
    failing_hashes: tuple[str, ...]


class ExpectationRunner:
    """A file-backed GX context with its suites, validation definitions and checkpoints.

    Building one costs seconds (GX's import, the context's stores, one store write per suite,
    validation definition and checkpoint): `for_root` keeps one per warehouse for the life of the
    process, and each suite's objects are stored once and then reused (a run names its batch in the
    validation's run name, not in a new checkpoint per batch).
    """

    _by_root: dict[Path, "ExpectationRunner"] = {}
    _lock = threading.Lock()

    @classmethod
    def for_root(cls, root: str | os.PathLike) -> "ExpectationRunner":
        """This process's runner for the context rooted at `root` (built on first use)."""
        key = Path(root).resolve()
        with cls._lock:
            runner = cls._by_root.get(key)
            if runner is None or not (key / "gx").is_dir():       # a warehouse deleted and made again
                runner = cls._by_root[key] = cls(key)
            return runner

    def __init__(self, root: str | os.PathLike):
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.root = Path(root)
        self.gx = gx
        self.context = gx.get_context(mode="file", project_root_dir=str(self.root))
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        source = self._spark_source("deidlake")
        self.asset = self._get_or_add(source.get_asset, lambda: source.add_dataframe_asset(name="report"), "report")
        self.batch = self._get_or_add(self.asset.get_batch_definition,
                                      lambda: self.asset.add_batch_definition_whole_dataframe("whole"), "whole")
        self._checkpoints: dict[str, tuple[tuple, object]] = {}     # suite -> (expectations, checkpoint)
        self._validating = threading.Lock()     # one context, its stores and Data Docs: one validation at a time

    def _spark_source(self, name: str):
        """The Spark data source, with GX's caching of validated frames off.

        GX persists every frame it validates and never unpersists it. A cached plan that reads Delta
        tables is re-planned after each later commit to any of them, so one run's accounting frame made
        every MERGE of the following runs in the same Spark session ~1.5 s slower, growing with each
        run (and the cache held its blocks until the session ended). The frames handed to `validate_*`
        are materialized by the caller instead. Contexts created before this setting are updated.
        """
        try:
            source = self.context.data_sources.get(name)
            if not source.persist:
                return source
        except Exception:  # noqa: BLE001 - GX raises several "not found" types
            pass
        return self.context.data_sources.add_or_update_spark(name=name, persist=False)

    @staticmethod
    def _get_or_add(get, add, name):
        try:
            return get(name)
        except Exception:  # noqa: BLE001 - GX raises several "not found" types
            return add()

    def validate_rules(self, report: DataFrame, rules: tuple[LeakageRule, ...], batch_id: str) -> list[CheckOutcome]:
        """One outcome per rule, in the rules' order. `report` should be materialized (GX reads it once per
        metric graph and does not cache it)."""
        expectations = [self._expectation(rule) for rule in rules]
        return self._run(report, LEAKAGE_SUITE, expectations, batch_id)

    def validate_accounting(self, outcomes: DataFrame, batch_id: str) -> CheckOutcome:
        expectation = self.gx.expectations.ExpectColumnValuesToBeBetween(
            column="outcomes", min_value=1, max_value=1, meta={CHECK_KEY: ACCOUNTING_SUITE})
        return self._run(outcomes, ACCOUNTING_SUITE, [expectation], batch_id)[0]

    def _expectation(self, rule: LeakageRule):
        meta = {CHECK_KEY: rule.check}
        if rule.value is not None:
            return self.gx.expectations.ExpectColumnValuesToBeInSet(column=rule.column, value_set=[rule.value],
                                                                  meta=meta)
        return self.gx.expectations.ExpectColumnValuesToBeBetween(column=rule.column, min_value=rule.low,
                                                                  max_value=rule.high, meta=meta)

    def _run(self, frame: DataFrame, suite_name: str, expectations: list, batch_id: str) -> list[CheckOutcome]:
        """Validate every expectation in one suite: GX then resolves their metrics in one graph over the frame
        and renders the Data Docs once (a suite per rule cost a docs build per rule, ~1 s each)."""
        from great_expectations.core.run_identifier import RunIdentifier

        with self._validating:
            checkpoint = self._checkpoint(suite_name, expectations)
            result = checkpoint.run(batch_parameters={"dataframe": frame},
                                    run_id=RunIdentifier(run_name=f"{suite_name}-{batch_id}"))
        [validation] = result.run_results.values()
        outcomes = [_outcome(r) for r in validation.results]
        order = [e.meta[CHECK_KEY] for e in expectations]
        return sorted(outcomes, key=lambda o: order.index(o.name))

    def _checkpoint(self, suite_name: str, expectations: list):
        """The suite's checkpoint, stored once per process and again only if its expectations change."""
        gx = self.gx
        configs = tuple(repr(e.configuration) for e in expectations)
        cached = self._checkpoints.get(suite_name)
        if cached is not None and cached[0] == configs:
            return cached[1]
        suite = self._replace(self.context.suites, gx.ExpectationSuite(name=suite_name, expectations=expectations))
        definition = self._replace(self.context.validation_definitions,
                                   gx.ValidationDefinition(name=suite_name, data=self.batch, suite=suite))
        result_format = {"result_format": "COMPLETE", "unexpected_index_column_names": [INDEX_COLUMN]}
        checkpoint = self._replace(self.context.checkpoints, gx.Checkpoint(
            name=suite_name, validation_definitions=[definition], result_format=result_format,
            actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs")]))
        self._checkpoints[suite_name] = (configs, checkpoint)
        return checkpoint

    @staticmethod
    def _replace(store, item):
        try:
            store.delete(item.name)
        except Exception:  # noqa: BLE001 - absent
            pass
        return store.add(item)

    @staticmethod
    def data_docs_path(root: str | os.PathLike) -> str:
        """Where the Data Docs index of the context rooted at `root` is written."""
        return str(Path(root) / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html")


def _outcome(result) -> CheckOutcome:
    """One expectation's result, reported by file hash only."""
    failing = sorted({str(row[INDEX_COLUMN]) for row in (result.result.get("unexpected_index_list") or [])})
    return CheckOutcome(result.expectation_config.meta[CHECK_KEY], bool(result.success),
                        int(result.result.get("element_count", 0)), tuple(failing))
