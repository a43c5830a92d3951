"""Batches of security tags: unique serials, signed (and optionally keyed), planned on any executor.

`serials` makes the range, `run.run_batch` drives it, `plan` is the per-task work, `pack`
the one-file job archive, `folder` the output folder and its manifest, `executors` the
process-pool / Dask switch. A registry (`lasergen.registry`) makes serials unique across
batches and stations; without one, the folder's manifest does so for that folder.
"""

from lasergen.batch.folder import CSV_FIELDS, LAYOUTS, job_file_name, read_manifest_job
from lasergen.batch.run import BatchConfig, run_batch
from lasergen.batch.serials import SerialRange, serials

__all__ = ["CSV_FIELDS", "LAYOUTS", "BatchConfig", "SerialRange", "job_file_name", "read_manifest_job", "run_batch",
           "serials"]
