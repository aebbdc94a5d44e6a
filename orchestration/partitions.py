"""One dynamic partition per landing batch: archives are backfilled batch by batch."""

from dagster import DynamicPartitionsDefinition

landing_batches = DynamicPartitionsDefinition(name="landing_batches")
