"""Live progress of the CLI's runs: which stage runs, how far it is (files and frames), rate and ETA.

A run of hundreds of files used to print nothing for minutes. The display follows the runs this process
starts, whatever starts them (`deidlake run` / `ingest`, each batch of `backfill`, each micro-batch of
`stream`), from two sources polled by one thread:

- **Dagster's event log** (the run's STEP_START / STEP_SUCCESS / STEP_FAILURE and materializations): the
  stages, in order, and their counts when they end (`dicom_complexity` says how many frames the batch has).
  The runs are found by a tag the runner adds to every run of this process (`PROCESS_TAG`).
- **Spark's StatusTracker**: the share of the running stage's Spark tasks that are done. Within a stage
  that works per frame (pixels, the gate's recheck) that share, times the batch's frames, is the frames
  done (an estimate, shown with "~"); elsewhere the same for files.

Drawn with rich on stderr, refreshed twice a second (polling every 0.5 s), and only when stdout and stderr
are terminals (or `--progress always`): piped output stays clean. The display never shows a value from a
file, only counts and stage names.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

# Every run this process starts carries this tag (orchestration.runner adds it), so that the display
# follows this process's runs only, even beside other runs on the same Dagster instance.
PROCESS_TAG = "deidlake/process"
PROCESS_TOKEN = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
POLL_SECONDS = 0.5
RUN_LIST_SECONDS = 3.0
# Stages whose Spark tasks work on frames: their progress is shown in frames.
FRAME_STAGES = ("silver_deid_files", "silver_leakage_report")


class Verbosity(StrEnum):
    quiet = "quiet"          # results and errors only
    normal = "normal"        # plus progress and one line per batch
    verbose = "verbose"      # plus Dagster's event log (every step event, DEBUG)


class ProgressMode(StrEnum):
    auto = "auto"            # on when stdout and stderr are terminals
    always = "always"
    never = "never"


@dataclass
class CliRun:
    """What the CLI asks of the runs it starts in this process: Dagster's console log level (from
    --quiet/--verbose). The runner reads it; the CLI sets it once at start."""

    console_log_level: str = "WARNING"

    def run_config(self) -> dict:
        return {"loggers": {"console": {"config": {"log_level": self.console_log_level}}}}


CLI_RUN = CliRun()
DAGSTER_LEVELS = {Verbosity.quiet: "ERROR", Verbosity.normal: "WARNING", Verbosity.verbose: "DEBUG"}


def display_wanted(mode: ProgressMode, verbosity: Verbosity) -> bool:
    if mode == ProgressMode.never or verbosity == Verbosity.quiet:
        return False
    return mode == ProgressMode.always or (sys.stdout.isatty() and sys.stderr.isatty())


@dataclass
class StageState:
    key: str
    task_id: int
    started: float
    jobs: set[int] = field(default_factory=set)      # Spark jobs seen running during the stage
    fraction: float = 0.0
    done: bool = False


@dataclass
class RunState:
    run_id: str
    batch: str
    files: int | None = None
    frames: int | None = None
    stages: dict[str, StageState] = field(default_factory=dict)
    cursor: str | None = None
    header_id: int | None = None
    planned: int = 0
    ended: bool = False


class RunProgress:
    """Context manager: while it is open, a thread draws the progress of this process's runs."""

    def __init__(self, spark, instance_factory: Callable[[], object], enabled: bool, files_hint: int | None = None,
                 console=None):
        self._console = console                   # default: stderr, drawn as a terminal
        self._spark = spark
        self._instance_factory = instance_factory
        self.enabled = enabled
        self._files_hint = files_hint
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._progress = None
        self._runs: dict[str, RunState] = {}
        self._instance = None
        self._listed_at = 0.0
        self.refreshes: list[float] = []          # when the display was updated (measured by the tests)

    def __enter__(self) -> "RunProgress":
        if not self.enabled:
            return self
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        console = self._console or Console(stderr=True, force_terminal=True)
        self._progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}", style="bold"), BarColumn(bar_width=24),
            TextColumn("{task.fields[counts]}"), TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=console, refresh_per_second=2, transient=False, redirect_stderr=False, redirect_stdout=False)
        # The instance is made here, before the run, not in the thread: two first uses of a new SQLite
        # instance at once race to create its tables.
        self._instance = self._instance_factory()
        self._progress.start()
        self._thread = threading.Thread(target=self._poll, name="deidlake-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=10)
            try:
                self._update()                    # the last events, so the final state is drawn
            except Exception:  # noqa: BLE001 - the display must never fail a run
                pass
        if self._progress is not None:
            self._progress.stop()

    def _poll(self) -> None:
        """Every POLL_SECONDS on a fixed schedule (an update's own time does not push the next one back);
        rich redraws the screen from its own thread twice a second."""
        next_tick = time.monotonic()
        while True:
            next_tick += POLL_SECONDS
            if self._stop.wait(max(0.0, next_tick - time.monotonic())):
                return
            try:
                self._update()
            except Exception:  # noqa: BLE001 - a display error must not stop the run; try again
                continue
            next_tick = max(next_tick, time.monotonic() - POLL_SECONDS)

    def _update(self) -> None:
        instance = self._instance
        for run_id in self._our_runs(instance):
            state = self._runs.get(run_id) or self._start_run(instance, instance.get_run_by_id(run_id))
            self._read_events(instance, state)
        self._sample_spark()
        self.refreshes.append(time.monotonic())

    def _our_runs(self, instance) -> list[str]:
        """The ids of this process's runs still drawn; the run list is read again only when none is in
        progress, or every few seconds (a new run of a backfill or stream), not at every poll."""
        from dagster import DagsterRunStatus, RunsFilter

        following = [run_id for run_id in self._runs if not self._finished(run_id)]
        now = time.monotonic()
        if following and now - self._listed_at < RUN_LIST_SECONDS:
            return following
        self._listed_at = now
        runs = instance.get_runs(RunsFilter(tags={PROCESS_TAG: PROCESS_TOKEN}), limit=5)
        unfinished = [r.run_id for r in runs if r.status in (
            DagsterRunStatus.STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.NOT_STARTED)]
        return list(dict.fromkeys(unfinished + following))

    def _finished(self, run_id: str) -> bool:
        return self._runs[run_id].ended

    def _start_run(self, instance, run) -> RunState:
        snapshot = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id) \
            if run.execution_plan_snapshot_id else None
        planned = len(snapshot.step_keys_to_execute or snapshot.steps) if snapshot else 0
        state = RunState(run.run_id, run.tags.get("dagster/partition", run.run_id[:8]), files=self._files_hint,
                         planned=planned)
        state.header_id = self._progress.add_task(f"batch {state.batch}", total=planned or None, counts="",
                                                  rate="")
        self._runs[run.run_id] = state
        return state

    def _read_events(self, instance, state: RunState) -> None:
        from dagster import DagsterEventType

        wanted = {DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE,
                  DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.RUN_SUCCESS,
                  DagsterEventType.RUN_FAILURE, DagsterEventType.RUN_CANCELED}
        run_ends = {DagsterEventType.RUN_SUCCESS, DagsterEventType.RUN_FAILURE, DagsterEventType.RUN_CANCELED}
        connection = instance.get_records_for_run(state.run_id, cursor=state.cursor, of_type=wanted)
        state.cursor = connection.cursor
        for record in connection.records:
            entry = record.event_log_entry
            event = entry.dagster_event
            step = entry.step_key or ""
            if event.event_type in run_ends:
                state.ended = True
            elif event.event_type == DagsterEventType.STEP_START:
                self._stage_started(state, step)
            elif event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
                self._materialized(state, event.event_specific_data.materialization)
            elif step in state.stages:
                self._stage_ended(state, state.stages[step],
                                  failed=event.event_type == DagsterEventType.STEP_FAILURE)

    def _stage_started(self, state: RunState, step: str) -> None:
        task_id = self._progress.add_task(f"  {step}", total=self._unit_total(state, step) or 1,
                                          counts="", rate="")
        state.stages[step] = StageState(step, task_id, time.monotonic())

    def _materialized(self, state: RunState, materialization) -> None:
        metadata = {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
        if materialization.asset_key.path[-1] == "dicom_complexity":
            state.frames = int(metadata.get("frames", 0) or 0)
            state.files = int(metadata.get("files", 0) or 0) or state.files
        elif materialization.asset_key.path[-1] == "bronze_dicom_files" and "landing_files" in metadata:
            state.files = int(metadata["landing_files"])

    def _stage_ended(self, state: RunState, stage: StageState, failed: bool) -> None:
        stage.done = True
        total = self._unit_total(state, stage.key)
        seconds = time.monotonic() - stage.started
        unit = self._unit(state, stage.key)
        self._progress.update(stage.task_id, total=total or 1, completed=total or 1,
                              counts=("FAILED" if failed else f"{total} {unit}" if total else ""),
                              rate=f"{seconds:.1f} s")
        done = sum(1 for s in state.stages.values() if s.done)
        self._progress.update(state.header_id, completed=done,
                              counts=f"stage {done}/{state.planned or '?'}" + self._totals(state))

    def _sample_spark(self) -> None:
        """The running stages' share of Spark tasks done, as files or frames of the batch."""
        running = [(state, stage) for state in self._runs.values() for stage in state.stages.values()
                   if not stage.done]
        if not running:
            return
        tracker = self._spark.sparkContext.statusTracker()
        active = set(tracker.getActiveJobsIds())
        for state, stage in running:
            stage.jobs |= active
            fraction = self._task_fraction(tracker, stage.jobs)
            stage.fraction = max(stage.fraction, fraction)        # new jobs may add tasks: never go back
            total = self._unit_total(state, stage.key)
            unit = self._unit(state, stage.key)
            if total:
                done = stage.fraction * total
                self._progress.update(stage.task_id, total=total, completed=done,
                                      counts=f"~{done:.0f}/{total} {unit}", rate=self._rate(stage, done, unit))
            else:
                self._progress.update(stage.task_id, total=1, completed=stage.fraction,
                                      counts=f"{stage.fraction:.0%} of Spark tasks", rate="")

    @staticmethod
    def _rate(stage: StageState, done: float, unit: str) -> str:
        seconds = time.monotonic() - stage.started
        return f"{done / seconds:.1f} {unit}/s" if seconds > 1 and done > 0 else ""

    @staticmethod
    def _task_fraction(tracker, jobs: set[int]) -> float:
        done = total = 0
        for job_id in jobs:
            job = tracker.getJobInfo(job_id)
            if job is None:
                continue
            for stage_id in job.stageIds:
                info = tracker.getStageInfo(stage_id)
                if info is None:
                    continue
                total += info.numTasks
                # A succeeded job's stages count as done (skipped stages never run their tasks).
                done += info.numTasks if job.status == "SUCCEEDED" else info.numCompletedTasks
        return done / total if total else 0.0

    @staticmethod
    def _unit(state: RunState, step: str) -> str:
        return "frames" if state.frames and any(step.startswith(s) for s in FRAME_STAGES) else "files"

    def _unit_total(self, state: RunState, step: str) -> int | None:
        return state.frames if self._unit(state, step) == "frames" else state.files

    @staticmethod
    def _totals(state: RunState) -> str:
        parts = [f"{state.files} files" if state.files else "", f"{state.frames} frames" if state.frames else ""]
        return "".join(f", {p}" for p in parts if p)
