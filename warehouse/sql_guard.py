"""The guard of the read-only SQL surface (`deidlake sql`): decided by Spark's plans, never by the text.

Two questions, both answered from Catalyst's own trees (pyspark 3.5 reaches them through py4j):

1. **Is it a query?** The statement is parsed by the session's parser (Delta's extension included), and
   the parsed tree is accepted only if every node, in the main tree and in every subquery, is one of the
   relational operators a SELECT can produce (an allow-list: a new kind of statement is refused until
   someone looks at it), or if its root is one of the metadata statements SHOW / DESCRIBE / EXPLAIN. So
   DELETE, INSERT (also INTO DIRECTORY), MERGE, CREATE, CACHE, SET, ADD JAR, VACUUM, RESTORE ... are
   refused, and so is `SELECT TRANSFORM(...) USING 'script'` (it runs a program) and any call of
   `reflect` / `java_method` (they call any static Java method).

2. **Does it read identified data?** The *analysed* plan says what a query reads, whatever the spelling:
   catalog tables, `delta.`/`parquet.`/`json.`/`binaryFile.` paths, views (expanded), CTEs and
   subqueries all end in relation leaves with their catalog name and their files' root paths. A query
   may read only the catalog tables of the de-identified zones and files under the warehouse's
   `silver/`, `gold/` and `metrics/` folders (symbolic links resolved); anything under `bronze/` (tables,
   the raw store, batch manifests), the landing folder or any other file on the machine is identified
   (or unknown) and needs `--allow-identified`. A leaf the guard cannot place is refused too.

   The metrics views the product defines (`warehouse/views.sql`) may aggregate the verdict columns of a
   bronze table (`TableSpec.public_columns`, e.g. `metrics.rejects_by_reason` counts reject reasons):
   for those views the guard checks, from the analysed plan's attribute references, that no other
   bronze column is used.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from warehouse.layout import Warehouse
from warehouse.tables import TABLES

IDENTIFIED_SCHEMAS = frozenset({"bronze"})
READABLE_ZONES = ("silver", "gold", "metrics")

# Every node a SELECT / WITH / VALUES / TABLE / FROM ... statement parses into (Spark 3.5's SQL grammar),
# plus the nodes analysis adds. Not here on purpose: ScriptTransformation (runs a program),
# InsertIntoDir (writes files), every Command and ParsedStatement (writes, settings, caches), Delta's
# statements (RESTORE is a plain node in the logical package, hence an allow-list rather than a check of
# the class's package or parents).
QUERY_NODES = frozenset({
    "Aggregate", "CTERelationDef", "CTERelationRef", "Distinct", "Except", "Expand", "Filter", "Generate",
    "GlobalLimit", "Intersect", "Join", "LateralJoin", "LocalLimit", "LocalRelation", "Offset",
    "OneRowRelation", "Pivot", "PlanWithUnresolvedIdentifier", "Project", "Range", "RebalancePartitions",
    "RelationTimeTravel", "Repartition", "RepartitionByExpression", "ResolvedHint", "Sample", "Sort",
    "SubqueryAlias", "Tail", "Union", "Unpivot", "UnresolvedHaving", "UnresolvedHint",
    "UnresolvedInlineTable", "UnresolvedRelation", "UnresolvedSubqueryColumnAliases", "UnresolvedTVFAliases",
    "UnresolvedTableValuedFunction", "UnresolvedWith", "View", "Window", "WithCTE", "WithWindowDefinition",
})
# Statements that show names, schemas or plans, never rows. EXPLAIN and DESCRIBE QUERY hold a query,
# which is checked like any other.
METADATA_STATEMENTS = frozenset({
    "ShowTables", "ShowTableExtended", "ShowViews", "ShowNamespaces", "ShowColumns", "ShowFunctions",
    "ShowCreateTable", "ShowTableProperties", "ShowPartitions", "ShowCurrentNamespaceCommand",
    "ShowCatalogsCommand", "DescribeRelation", "DescribeColumn", "DescribeNamespace", "DescribeFunction",
})
WRAPPED_QUERY_STATEMENTS = {"ExplainCommand": "logicalPlan", "DescribeQueryCommand": "plan"}
# Functions that reach outside the query: parsed as UnresolvedFunction(name), analysed as this class.
FORBIDDEN_FUNCTIONS = frozenset({"reflect", "java_method"})
FORBIDDEN_EXPRESSIONS = frozenset({"CallMethodViaReflection"})
# Leaves that read nothing from storage.
CONSTANT_LEAVES = frozenset({"OneRowRelation", "LocalRelation", "Range", "CTERelationRef"})


class RefusedQuery(ValueError):
    """The statement is not a read-only query, or reads identified data without permission (one line)."""


@dataclass(frozen=True)
class Verdict:
    """What the guard decided: a query (run it) or a metadata statement (run it eagerly)."""

    kind: str                   # "query" | "metadata"
    tables: tuple[str, ...] = ()          # catalog tables the query reads (for messages and tests)


def check(spark, query: str, warehouse: Warehouse, allow_identified: bool = False) -> Verdict:
    """Raise RefusedQuery unless `query` is read-only and, without `allow_identified`, reads only
    de-identified data. Spark's ParseException / AnalysisException pass through as they are."""
    parsed = _parse(spark, query)
    root = _name(parsed)
    if root in METADATA_STATEMENTS:
        return Verdict("metadata")
    inner = getattr(parsed, WRAPPED_QUERY_STATEMENTS[root])() if root in WRAPPED_QUERY_STATEMENTS else parsed
    _require_query(inner)
    reads = _reads(_analyse(spark, inner), warehouse)
    if not allow_identified:
        reads.refuse_identified()
    return Verdict("query" if inner is parsed else "metadata", tuple(sorted(reads.tables)))


def _parse(spark, query: str):
    return spark._jsparkSession.sessionState().sqlParser().parsePlan(query)


def _analyse(spark, plan):
    """The analysed plan of a query, without running it (Dataset.ofRows analyses eagerly, runs lazily)."""
    return spark._jvm.org.apache.spark.sql.Dataset.ofRows(spark._jsparkSession, plan).queryExecution().analyzed()


def _require_query(parsed) -> None:
    for node in _nodes(parsed):
        name = _name(node)
        if name not in QUERY_NODES:
            raise RefusedQuery(f"only queries are accepted (SELECT, WITH, VALUES, TABLE, SHOW, DESCRIBE, "
                               f"EXPLAIN); this statement is a {_statement_name(name)}")
        for expression in _expressions(node):
            if _name(expression) == "UnresolvedFunction" and \
                    str(expression.nameParts().last()).lower() in FORBIDDEN_FUNCTIONS:
                raise RefusedQuery("reflect() and java_method() are not available in deidlake sql "
                                   "(they call Java methods outside the query)")


def _statement_name(class_name: str) -> str:
    """`DeleteFromTable` -> `DeleteFromTable statement` (the class name is what Spark calls it)."""
    return f"{class_name.rstrip('$')} statement"


@dataclass
class _Reads:
    """The relations an analysed plan reads, sorted into what the guard allows and what it does not."""

    tables: set[str] = field(default_factory=set)
    identified: list[str] = field(default_factory=list)     # why each identified read is identified

    def refuse_identified(self) -> None:
        if self.identified:
            raise RefusedQuery(f"the query reads {self.identified[0]} (identified data: PHI in clear); add "
                               "--allow-identified if you are entitled to see it")


def _reads(analysed, warehouse: Warehouse) -> _Reads:
    reads = _Reads()
    readable = [Path(os.path.realpath(warehouse.zone(zone))) for zone in READABLE_ZONES]
    curated = _curated_views()
    _collect(analysed, reads, readable, curated, warehouse)
    return reads


def _collect(plan, reads: _Reads, readable: list[Path], curated: frozenset[str], warehouse: Warehouse) -> None:
    def is_curated(node) -> bool:
        return _name(node) == "View" and not node.isTempView() and _identifier(node.desc()) in curated

    for node in _nodes(plan, stop=is_curated):
        _refuse_forbidden_expressions(node)
        if is_curated(node):
            _check_curated_view(node, reads, readable, warehouse)
        elif node.children().isEmpty() and _name(node) not in CONSTANT_LEAVES:
            reads.tables.update(_leaf_reads(node, reads, readable))


def _refuse_forbidden_expressions(node) -> None:
    for expression in _expressions(node):
        if _name(expression) in FORBIDDEN_EXPRESSIONS:
            raise RefusedQuery("reflect() and java_method() are not available in deidlake sql "
                               "(they call Java methods outside the query)")


def _leaf_reads(leaf, reads: _Reads, readable: list[Path]) -> set[str]:
    """Sort one relation leaf: its catalog name and files decide whether it is identified."""
    name = _name(leaf)
    if name == "LogicalRelation":
        table = _identifier(leaf.catalogTable().get()) if leaf.catalogTable().isDefined() else None
        schema = table.split(".")[-2] if table and table.count(".") >= 1 else None
        if schema in IDENTIFIED_SCHEMAS:
            reads.identified.append(table)
        for path in _root_paths(leaf.relation()):
            if not any(path == zone or zone in path.parents for zone in readable):
                reads.identified.append(table or _place(path))
        return {table} if table else set()
    reads.identified.append(f"a {name} relation the guard cannot place")
    return set()


def _root_paths(relation) -> list[Path]:
    """The root paths of a file relation (Delta's and file sources' relations are HadoopFsRelations)."""
    try:
        location = relation.location()
    except Exception:                                   # not a file relation: placed nowhere, refused
        return [Path("/")]
    return [_local_path(str(path)) for path in _seq(location.rootPaths())]


def _local_path(uri: str) -> Path:
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        return Path("/")                                # another filesystem: never a readable zone
    return Path(os.path.realpath(unquote(parsed.path)))


def _place(path: Path) -> str:
    """Where a refused path is, without echoing it (a landing path may name a patient)."""
    parts = path.parts
    if "bronze" in parts:
        return "files under bronze/"
    return "files outside the warehouse's silver/, gold/ and metrics/ zones"


def _check_curated_view(view, reads: _Reads, readable: list[Path], warehouse: Warehouse) -> None:
    """A product view may read bronze tables, but only their public (verdict) columns."""
    bronze_attributes: dict[int, tuple[str, str]] = {}          # exprId -> (table, column)
    inner = _Reads()
    for node in _nodes(view.child()):
        _refuse_forbidden_expressions(node)
        if node.children().isEmpty() and _name(node) not in CONSTANT_LEAVES:
            before = len(inner.identified)
            reads.tables.update(_leaf_reads(node, inner, readable))
            if len(inner.identified) > before and _name(node) == "LogicalRelation" and \
                    node.catalogTable().isDefined():
                table = _identifier(node.catalogTable().get())
                for attribute in _seq(node.output()):
                    bronze_attributes[attribute.exprId().id()] = (table, attribute.name())
    used = set()
    for node in _nodes(view.child()):
        if node.children().isEmpty():
            continue                                    # a relation's own output is not a use of it
        for expression in _expressions(node):
            for part in _expression_tree(expression):
                if _name(part) == "AttributeReference" and part.exprId().id() in bronze_attributes:
                    used.add(bronze_attributes[part.exprId().id()])
    unplaced = [why for why in inner.identified if why.startswith(("a ", "files "))]
    private = sorted(f"{table}.{column}" for table, column in used
                     if column not in _public_columns(table))
    if unplaced or private:
        reads.identified.append(f"{_identifier(view.desc())} over {(private or unplaced)[0]}")


def _public_columns(table: str) -> tuple[str, ...]:
    spec = TABLES.get(".".join(table.split(".")[-2:]))
    return spec.public_columns if spec else ()


def _curated_views() -> frozenset[str]:
    from warehouse.delta_io import view_names

    return frozenset(f"spark_catalog.{name}" for name in view_names())


def _identifier(catalog_table) -> str:
    """`spark_catalog.bronze.dicom_files` (Spark 3.5's TableIdentifier with its catalog)."""
    return str(catalog_table.identifier().unquotedString())


def _nodes(plan, stop=lambda node: False) -> Iterator:
    """Every node of a plan, its children and the plans of its subquery expressions, depth first; the
    nodes below a node for which `stop` is true are not visited."""
    stack = [plan]
    while stack:
        node = stack.pop()
        yield node
        if not stop(node):
            stack.extend(_seq(node.children()))
            stack.extend(_seq(node.subqueries()))


def _expressions(node) -> Iterator:
    for expression in _seq(node.expressions()):
        yield from _expression_tree(expression)


def _expression_tree(expression) -> Iterator:
    stack = [expression]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(_seq(current.children()))


def _seq(scala_seq) -> list:
    items, iterator = [], scala_seq.iterator()
    while iterator.hasNext():
        items.append(iterator.next())
    return items


def _name(node) -> str:
    return str(node.getClass().getSimpleName()).rstrip("$")
