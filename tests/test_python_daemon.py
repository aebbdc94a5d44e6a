"""The project's PySpark daemon: zip archives on the path are re-read only when they change."""

import importlib
import sys
import zipfile
import zipimport

import pytest

import warehouse.python_daemon  # noqa: F401 - installs the change, as in Spark's daemon process


@pytest.fixture
def zipped_module(tmp_path, monkeypatch):
    archive = tmp_path / "lib.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("zipped_one.py", "VALUE = 1\n")
    monkeypatch.syspath_prepend(str(archive))
    reads = []
    real_read = zipimport._read_directory
    monkeypatch.setattr(zipimport, "_read_directory", lambda path: reads.append(path) or real_read(path))
    yield archive, reads
    for name in ("zipped_one", "zipped_two"):
        sys.modules.pop(name, None)


def test_an_unchanged_archive_is_not_read_again(zipped_module):
    archive, reads = zipped_module
    assert importlib.import_module("zipped_one").VALUE == 1
    reads.clear()
    for _ in range(3):                     # what PySpark's worker does before every task
        importlib.invalidate_caches()
    # Read once to learn its stamp (it was imported after the daemon started), then never again.
    assert reads.count(str(archive)) == 1


def test_a_changed_archive_is_read_again_and_its_new_modules_import(zipped_module):
    archive, reads = zipped_module
    importlib.import_module("zipped_one")
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("zipped_two.py", "VALUE = 2\n")
    importlib.invalidate_caches()
    assert str(archive) in reads
    assert importlib.import_module("zipped_two").VALUE == 2


def test_spark_python_workers_run_under_the_project_daemon(spark):
    def importer_reload(_):
        import zipimport as zi
        yield zi.zipimporter.invalidate_caches.__name__

    names = spark.sparkContext.parallelize(range(4), 4).mapPartitions(importer_reload).collect()
    assert names == ["_invalidate_if_changed"] * 4
