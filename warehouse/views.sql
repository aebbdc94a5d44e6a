-- Metrics views over the warehouse tables. PHI-free: they read metrics and silver tables only.
-- Registered by warehouse.delta_io.register_catalog for `deidlake sql` and the Dagster assets.

-- Files and bytes per modality and transfer syntax, with the estimated processing cost.
CREATE OR REPLACE VIEW metrics.job_size_by_modality AS
SELECT modality,
       transfer_syntax_name,
       COUNT(*)                                   AS files,
       SUM(frames)                                AS frames,
       ROUND(SUM(file_bytes) / 1048576.0, 2)      AS file_mb,
       ROUND(SUM(estimated_cost_seconds), 2)      AS estimated_cost_seconds
FROM metrics.dicom_complexity
GROUP BY modality, transfer_syntax_name;

-- Rejects and quarantines by stage and reason.
CREATE OR REPLACE VIEW metrics.quarantine_by_reason AS
SELECT stage, reason, COUNT(*) AS files
FROM silver.quarantine
GROUP BY stage, reason;

-- Throughput per run and stage.
CREATE OR REPLACE VIEW metrics.throughput_per_stage AS
SELECT run_id, batch_id, stage, started_at, files, bytes, frames, seconds,
       ROUND(files / GREATEST(seconds, 0.001), 3)              AS files_per_second,
       ROUND(bytes / 1048576.0 / GREATEST(seconds, 0.001), 3)  AS mb_per_second
FROM metrics.stage_runs;
