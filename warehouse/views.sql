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

-- Rejects and quarantines by stage and reason (every quarantine ever, released ones included).
CREATE OR REPLACE VIEW metrics.quarantine_by_reason AS
SELECT stage, reason, COUNT(*) AS files, SUM(CASE WHEN resolved_at IS NULL THEN 1 ELSE 0 END) AS still_held
FROM silver.quarantine
GROUP BY stage, reason;

-- Throughput per run and stage.
CREATE OR REPLACE VIEW metrics.throughput_per_stage AS
SELECT run_id, batch_id, stage, started_at, files, bytes, frames, seconds,
       ROUND(files / GREATEST(seconds, 0.001), 3)              AS files_per_second,
       ROUND(bytes / 1048576.0 / GREATEST(seconds, 0.001), 3)  AS mb_per_second
FROM metrics.stage_runs;

-- One row per run: files ingested, wall seconds over all stages, throughput, and the share quarantined.
CREATE OR REPLACE VIEW metrics.throughput_per_run AS
WITH stages AS (
    SELECT run_id, batch_id, MIN(started_at) AS started_at, SUM(seconds) AS seconds,
           MAX(CASE WHEN stage = 'ingest' THEN files END) AS files_ingested,
           MAX(CASE WHEN stage = 'pixel' THEN frames END) AS frames
    FROM metrics.stage_runs GROUP BY run_id, batch_id),
held AS (
    SELECT run_id, COUNT(DISTINCT sha256) AS quarantined FROM silver.quarantine GROUP BY run_id)
SELECT s.run_id, s.batch_id, s.started_at, s.files_ingested, s.frames, ROUND(s.seconds, 1) AS seconds,
       ROUND(COALESCE(s.files_ingested, 0) / GREATEST(s.seconds, 0.001), 3) AS files_per_second,
       COALESCE(h.quarantined, 0) AS quarantined,
       ROUND(COALESCE(h.quarantined, 0) / GREATEST(COALESCE(s.files_ingested, 0), 1), 3) AS quarantine_rate
FROM stages s LEFT JOIN held h ON s.run_id = h.run_id;

-- Files still held in quarantine (not released by a later successful run), by stage and reason.
CREATE OR REPLACE VIEW metrics.open_quarantine AS
SELECT stage, reason, COUNT(DISTINCT sha256) AS files, MIN(quarantined_at) AS oldest
FROM silver.quarantine WHERE resolved_at IS NULL
GROUP BY stage, reason;

-- Ingest rejects by machine-readable reason (verdict columns only: no identified data).
CREATE OR REPLACE VIEW metrics.rejects_by_reason AS
SELECT reject_reason, COUNT(*) AS files, SUM(size_bytes) AS bytes
FROM bronze.dicom_files WHERE status = 'rejected'
GROUP BY reject_reason;

-- Leakage gate results over time: per day and check, files checked and failed.
CREATE OR REPLACE VIEW metrics.leakage_over_time AS
SELECT DATE(evaluated_at) AS day, `check`, SUM(files_checked) AS files_checked,
       SUM(files_failed) AS files_failed,
       ROUND(1 - SUM(files_failed) / GREATEST(SUM(files_checked), 1), 4) AS pass_rate
FROM metrics.leakage_checks
GROUP BY DATE(evaluated_at), `check`;

-- How far the cost model's estimate is from measured run time: seconds per estimated second.
CREATE OR REPLACE VIEW metrics.cost_calibration AS
WITH runs AS (
    SELECT run_id, batch_id, SUM(seconds) AS seconds FROM metrics.stage_runs GROUP BY run_id, batch_id),
estimates AS (
    SELECT batch_id, SUM(estimated_cost_seconds) AS estimated, COUNT(*) AS files
    FROM metrics.dicom_complexity GROUP BY batch_id)
SELECT r.run_id, r.batch_id, e.files, ROUND(r.seconds, 1) AS measured_seconds,
       ROUND(e.estimated, 2) AS estimated_seconds, ROUND(r.seconds / GREATEST(e.estimated, 0.001), 2) AS factor
FROM runs r JOIN estimates e ON r.batch_id = e.batch_id;

-- Job size forecast for files ingested but not yet published nor held: the cost model scaled by the
-- median measured factor (1 core; divide by the cluster's cores).
CREATE OR REPLACE VIEW metrics.job_size_forecast AS
WITH factor AS (SELECT COALESCE(PERCENTILE_APPROX(factor, 0.5), 1.0) AS factor FROM metrics.cost_calibration),
pending AS (
    SELECT c.* FROM metrics.dicom_complexity c
    WHERE c.sha256 NOT IN (SELECT sha256 FROM gold.manifest)
      AND c.sha256 NOT IN (SELECT sha256 FROM silver.quarantine WHERE resolved_at IS NULL))
SELECT p.modality, p.transfer_syntax_name, COUNT(*) AS files, SUM(p.frames) AS frames,
       ROUND(SUM(p.file_bytes) / 1048576.0, 1) AS file_mb,
       ROUND(SUM(p.estimated_cost_seconds) * MAX(f.factor), 1) AS forecast_seconds
FROM pending p CROSS JOIN factor f
GROUP BY p.modality, p.transfer_syntax_name;

-- Kafka streams: per topic partition, the next offset to read, the partition's end when the last micro-batch
-- was read, and the messages that were waiting behind it then (the consumer lag as of last_read_at).
CREATE OR REPLACE VIEW metrics.kafka_consumer_lag AS
SELECT topic, `partition`, MAX(`offset`) + 1 AS next_offset, MAX(log_end_offset) AS log_end_offset,
       GREATEST(MAX(log_end_offset) - MAX(`offset`) - 1, 0) AS lag, MAX(received_at) AS last_read_at,
       COUNT(*) AS messages, SUM(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END) AS rejected_at_intake
FROM metrics.kafka_messages
GROUP BY topic, `partition`;

-- Kafka messages held in quarantine, by their coordinates: rejected at intake (stage kafka) or later
-- (a landed file that was not DICOM, cut short, or held by the gate).
CREATE OR REPLACE VIEW metrics.kafka_quarantine AS
SELECT m.topic, m.`partition`, m.`offset`, m.batch_id, q.stage, q.reason, q.detail, q.quarantined_at
FROM metrics.kafka_messages m JOIN silver.quarantine q ON m.sha256 = q.sha256
WHERE q.resolved_at IS NULL;
